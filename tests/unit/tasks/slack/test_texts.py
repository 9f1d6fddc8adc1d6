"""The main catalogue's own rules beyond the parity every catalogue keeps (test_catalogues.py):
every field translated, the same emoji and commands, and the language chosen."""

from __future__ import annotations

import dataclasses

import pytest

from tasks.shared.texts import EN, ZH, Texts, texts_for

FIELDS = [f.name for f in dataclasses.fields(Texts)]


def test_every_field_is_filled_in_chinese() -> None:
    for name in FIELDS:
        value = getattr(ZH, name)
        assert value, name
        assert value != getattr(EN, name) or name in ("kinds",), name


def test_same_emoji_and_backticks() -> None:
    for name in FIELDS:
        en, zh = getattr(EN, name), getattr(ZH, name)
        if isinstance(en, str):
            assert en.split(":")[1:2] == zh.split(":")[1:2] or not en.startswith(":"), name
            assert ("`/invoice" in en) == ("`/invoice" in zh), name
            assert ("`B23001249`" in en) == ("`B23001249`" in zh), name


def test_malformed_reads_without_english_words() -> None:
    text = ZH.malformed.format(tokens="`x`", verb="does", them="it")
    assert "does" not in text and " it" not in text and "`x`" in text


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("zh", ZH),
        ("zh-CN", ZH),
        ("zh-TW", ZH),
        ("zh_CN", ZH),
        ("ZH-cn", ZH),
        ("en-US", EN),
        ("en", EN),
        ("ja-JP", EN),
        ("", EN),
        (None, EN),
    ],
)
def test_texts_for(language: str | None, texts: Texts) -> None:
    assert texts_for(language) is texts


def test_default_is_english() -> None:
    assert texts_for() is EN
