"""Fakes shared by the tests, so one stand-in for a thing is written once."""

from __future__ import annotations


class Clock:
    """A clock that stands still until told: pass it where code takes `clock=`."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
