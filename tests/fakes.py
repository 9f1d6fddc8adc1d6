"""Fakes shared by the tests, so one stand-in for a thing is written once."""

from __future__ import annotations

import httpx

from tasks.ekuaibao.session import TOKEN_PATH


class Clock:
    """A clock that stands still until told: pass it where code takes `clock=`."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ScriptedEkuaibao:
    """An `httpx.MockTransport` handler for Ekuaibao: a numbered token on each token call, then
    the answers queued per path, in order (an exception is raised), then 200 with no items.

    Paths are matched as sent (percent-encoded, query left off), so queue the client's own
    `*_PATH` constants. With a `clock`, each API call takes `call_s` of its time."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock
        self.call_s = 0.0
        self.calls: list[httpx.Request] = []
        self.answers: dict[str, list[httpx.Response | BaseException]] = {}
        self.tokens = 0

    def queue(self, path: str, *answers: httpx.Response | BaseException) -> None:
        self.answers.setdefault(path, []).extend(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if request.url.path == TOKEN_PATH:
            self.tokens += 1
            value = {"accessToken": f"ID_t{self.tokens}:corp", "expireTime": 1_800_000_000_000}
            return httpx.Response(200, json={"value": value})
        if self.clock is not None:
            self.clock.advance(self.call_s)
        queued = self.answers.get(request.url.raw_path.decode().split("?")[0])
        answer = queued.pop(0) if queued else httpx.Response(200, json={"items": []})
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def api_calls(self) -> list[httpx.Request]:
        return [c for c in self.calls if c.url.path != TOKEN_PATH]

    def api_paths(self) -> list[str]:
        return [c.url.path for c in self.api_calls()]
