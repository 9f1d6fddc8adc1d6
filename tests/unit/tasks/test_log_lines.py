"""One log record, one line: text from Slack or Ekuaibao cannot split a line or forge one.

A traceback keeps its own lines (our files, line numbers, source), while each exception's
message, which may quote what someone typed, is escaped onto its line.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.redact import RedactingFilter, escape_controls

FORGED = "2026-01-01 00:00:00,000 ERROR invoicebot.audit: user=U0BOSS outcome=approved"
CONTROLS = ["\n", "\r", "\r\n", "\x1b[31m", "\x00", "\x07", "\x0b", "\x0c", "\x1c", "\x7f"]
CONTROLS += ["\x85", "\x9b", "\u2028", "\u2029", "\u202e"]


class Captured:
    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.logger = logging.getLogger("test.log_lines")
        self.logger.propagate = False
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.handler.addFilter(RedactingFilter())
        self.logger.addHandler(self.handler)

    def text(self) -> str:
        return self.stream.getvalue()

    def close(self) -> None:
        self.logger.removeHandler(self.handler)


@pytest.fixture
def captured() -> Iterator[Captured]:
    capture = Captured()
    yield capture
    capture.close()


def _lines(text: str) -> list[str]:
    """Lines as anything reading the log would split them, Unicode separators included."""
    return text.splitlines()


@pytest.mark.parametrize("control", CONTROLS)
def test_a_message_with_a_control_stays_on_one_line(captured: Captured, control: str) -> None:
    captured.logger.warning("lookup for %s", f"ID01x{control}{FORGED}")
    [line] = _lines(captured.text())
    assert line.startswith("WARNING test.log_lines: lookup for ID01x\\")
    assert "\x1b" not in line and "\u202e" not in line


def test_the_escapes_are_readable() -> None:
    assert escape_controls("a\nb\rc\td\x1b[0m\u2028") == "a\\nb\\rc\\td\\u001b[0m\\u2028"
    plain = "发票 djg8:1:2, ¥452.00 — ok"
    assert escape_controls(plain) is plain


def _raise_with(message: str) -> None:
    raise ValueError(message)


def test_a_traceback_keeps_its_lines_and_its_message_stays_on_one(captured: Captured) -> None:
    try:
        _raise_with(f"bad id ID01x\n{FORGED}\r\nmore")
    except ValueError:
        captured.logger.exception("lookup failed")
    lines = _lines(captured.text())
    assert lines[0] == "ERROR test.log_lines: lookup failed"
    assert lines[1] == "Traceback (most recent call last):"
    assert any(line.startswith('  File "') and "_raise_with" in line for line in lines)
    assert lines[-1] == f"ValueError: bad id ID01x\\n{FORGED}\\r\\nmore"
    assert not any(line.startswith(FORGED[:10]) for line in lines)


def test_a_chain_of_exceptions_keeps_its_lines(captured: Captured) -> None:
    try:
        try:
            _raise_with("first\nFORGED first")
        except ValueError as exc:
            raise RuntimeError("second\u2028FORGED second") from exc
    except RuntimeError:
        captured.logger.exception("failed")
    lines = _lines(captured.text())
    assert "ValueError: first\\nFORGED first" in lines
    assert "RuntimeError: second\\u2028FORGED second" in lines
    assert "The above exception was the direct cause of the following exception:" in lines
    assert not any(line.startswith("FORGED") for line in lines)


def test_exception_text_formatted_elsewhere_keeps_its_lines_only(captured: Captured) -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
    record.exc_text = 'Traceback (most recent call last):\n  File "x.py", line 1\rFORGED'
    RedactingFilter().filter(record)
    assert record.exc_text.splitlines() == [
        "Traceback (most recent call last):",
        '  File "x.py", line 1\\rFORGED',
    ]


def test_two_handlers_give_the_same_line(captured: Captured) -> None:
    second = io.StringIO()
    handler = logging.StreamHandler(second)
    handler.setFormatter(captured.handler.formatter)
    handler.addFilter(RedactingFilter())
    captured.logger.addHandler(handler)
    try:
        captured.logger.warning("a\nb token=abcdef1234")
    finally:
        captured.logger.removeHandler(handler)
    assert (
        captured.text() == second.getvalue() == "WARNING test.log_lines: a\\nb token=[redacted]\n"
    )


@given(st.text(max_size=200))
def test_any_text_in_a_message_is_one_line(text: str) -> None:
    capture = Captured()
    try:
        capture.logger.warning("got %s and %r", text, text)
        assert len(_lines(capture.text())) == 1
    finally:
        capture.close()


@given(st.text(max_size=200))
def test_any_text_in_an_exception_adds_no_line(text: str) -> None:
    counts = []
    for message in ("plain", text):
        capture = Captured()
        try:
            try:
                _raise_with(message)
            except ValueError:
                capture.logger.exception("failed: %s", message)
            counts.append(len(_lines(capture.text())))
        finally:
            capture.close()
    assert counts[0] == counts[1]
