"""Chinese and English must be interchangeable: same keys, same placeholders."""

from __future__ import annotations

import dataclasses
import string

import pytest

from tasks.slack.texts import EN, ZH, Texts, texts_for

FIELDS = [f.name for f in dataclasses.fields(Texts)]


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_every_field_is_filled_in_chinese() -> None:
    for name in FIELDS:
        value = getattr(ZH, name)
        assert value, name
        assert value != getattr(EN, name) or name in ("kinds",), name


@pytest.mark.parametrize("name", FIELDS)
def test_same_placeholders_and_keys(name: str) -> None:
    en, zh = getattr(EN, name), getattr(ZH, name)
    assert type(en) is type(zh)
    if isinstance(en, dict):
        assert set(zh) == set(en)
        assert all(isinstance(v, str) and v for v in zh.values())
        for key in en:
            assert placeholders(zh[key]) == placeholders(en[key]), (name, key)
    else:
        assert placeholders(zh) == placeholders(en)


@pytest.mark.parametrize("name", [n for n in FIELDS if isinstance(getattr(EN, n), str)])
def test_both_languages_format_with_the_same_arguments(name: str) -> None:
    args = {p: "X" for p in placeholders(getattr(EN, name))}
    getattr(EN, name).format(**args)
    getattr(ZH, name).format(**args)


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
