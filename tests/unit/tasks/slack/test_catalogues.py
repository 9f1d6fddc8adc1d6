"""Every text catalogue (each `tasks/shared/*texts.py` dataclass with an English and a
Chinese instance) is interchangeable: same fields, all filled, same placeholders, and both
format with the same arguments."""

from __future__ import annotations

import dataclasses
import importlib
import string
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[4] / "tasks" / "shared"


def catalogues() -> list[tuple[str, Any, Any]]:
    """(name, English, Chinese) for each catalogue class: its two module-level instances,
    English first (the one `*_for("en")` would give is the one without Chinese letters)."""
    found: dict[type, list[Any]] = {}
    for path in sorted(SHARED.glob("*texts.py")):
        module = importlib.import_module(f"tasks.shared.{path.stem}")
        for value in vars(module).values():
            ours = type(value).__module__ == module.__name__
            if ours and dataclasses.is_dataclass(value) and not isinstance(value, type):
                kept = found.setdefault(type(value), [])
                if not any(v is value for v in kept):
                    kept.append(value)
    out = []
    for cls, instances in found.items():
        assert len(instances) == 2, f"{cls.__name__}: {len(instances)} instances, want EN and ZH"
        en, zh = sorted(instances, key=chinese_share)
        out.append((cls.__name__, en, zh))
    return out


def chinese_share(catalogue: Any) -> float:
    text = "".join(strings(dataclasses.asdict(catalogue)))
    return sum("\u4e00" <= c <= "\u9fff" for c in text) / max(1, len(text))


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return []


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def compare(en: Any, zh: Any, where: str) -> None:
    assert type(en) is type(zh), where
    if isinstance(en, str):
        assert zh.strip(), f"{where}: empty in Chinese"
        assert placeholders(zh) == placeholders(en), where
        args = {name: "X" for name in placeholders(en)}
        en.format(**args), zh.format(**args)
    elif isinstance(en, dict):
        assert set(zh) == set(en), where
        for key in en:
            compare(en[key], zh[key], f"{where}[{key!r}]")
    elif isinstance(en, list | tuple):
        assert len(zh) == len(en), where
        for n, (a, b) in enumerate(zip(en, zh, strict=True)):
            compare(a, b, f"{where}[{n}]")
    else:
        assert zh == en, where


CATALOGUES = catalogues()


def test_every_catalogue_is_found() -> None:
    names = {name for name, _, _ in CATALOGUES}
    assert {"Texts", "CardTexts", "DecideTexts", "HomeTexts", "ReviewTexts"} <= names


@pytest.mark.parametrize(("name", "en", "zh"), CATALOGUES, ids=[c[0] for c in CATALOGUES])
def test_english_and_chinese_are_interchangeable(name: str, en: Any, zh: Any) -> None:
    for field in dataclasses.fields(en):
        compare(getattr(en, field.name), getattr(zh, field.name), f"{name}.{field.name}")
    assert chinese_share(zh) > 0.1 > chinese_share(en)


def test_a_difference_is_caught() -> None:
    for en, zh in (("{a} x", "{b} x"), ({"k": "x"}, {"j": "x"}), (("x",), ("x", "y")), ("x", " ")):
        with pytest.raises(AssertionError):
            compare(en, zh, "here")
