"""A person's lookups take turns: at most N in flight, the rest come back later (told once,
truthfully), and the class their Ekuaibao calls wait in."""

from __future__ import annotations

from typing import Any

import pytest

from tasks.ekuaibao import budget
from tasks.ekuaibao.budget_sqlite import SQLiteState
from tasks.lookup.service import handle_lookup
from tasks.lookup.turns import person, priority_of
from tasks.state.inflight import GRACE_S, RUNNING_S, InFlight, enter, leave
from tests.fakes import Clock
from tests.unit.tasks.lookup.test_service import NOW, FakeClient, FakeReplier, deps, request


def test_a_person_runs_at_most_cap_lookups_and_the_rest_wait_in_order() -> None:
    state: dict[str, Any] = {}
    assert enter(state, "one", NOW, cap=2)[:2] == (True, 0)
    assert enter(state, "two", NOW, cap=2)[:2] == (True, 1)
    three = enter(state, "three", NOW, cap=2)
    four = enter(state, "four", NOW + 0.1, cap=2)
    assert not three.admitted and three.ahead == 2 and three.retry_in > 0
    assert not four.admitted and four.ahead == 3 and four.retry_in >= three.retry_in
    leave(state, "one")
    assert not enter(state, "four", NOW + 1, cap=2).admitted  # three came first
    assert enter(state, "three", NOW + 1, cap=2).admitted
    assert enter(state, "two", NOW + 1, cap=2).admitted  # a redelivery keeps its place


def test_places_are_leases_so_a_dead_worker_frees_them() -> None:
    state: dict[str, Any] = {}
    enter(state, "crashed", NOW, cap=1)
    waiting = enter(state, "next", NOW, cap=1)
    assert not waiting.admitted
    assert enter(state, "next", NOW + RUNNING_S + 1, cap=1).admitted
    abandoned = enter(state, "never back", NOW + RUNNING_S + 1, cap=1)
    later = NOW + RUNNING_S + 1 + abandoned.retry_in + GRACE_S + 1
    leave(state, "next")
    assert enter(state, "third", later, cap=1).admitted  # "never back" lost its place


def test_which_class_a_lookup_waits_in() -> None:
    assert priority_of(request(), 0) == "interactive"  # a slash command, their only one
    assert priority_of(request(), 1) == "bulk"  # beyond their first in flight
    dm = request(response_url="", reply_via="channel", channel_id="D1")
    assert priority_of(dm, 0) == "bulk"  # asked by message: the scriptable kind


class WatchingClient(FakeClient):
    """Records the class each Ekuaibao call waits in."""

    def __init__(self) -> None:
        super().__init__()
        self.priorities: list[str] = []

    def line_items(self, ids: Any) -> list[Any]:
        who = budget.waiting.get()
        self.priorities.append(who.priority if who else "-")
        return super().line_items(ids)


def _deps(tmp_path: Any, client: FakeClient, replier: FakeReplier, cap: int = 1) -> Any:
    built = deps(client, replier)
    built.inflight = InFlight(SQLiteState(tmp_path / "inflight.sqlite3", Clock(NOW)), cap)
    return built


def test_a_lookup_over_the_cap_comes_back_later_without_calling_ekuaibao(tmp_path) -> None:
    client, replier = WatchingClient(), FakeReplier()
    built = _deps(tmp_path, client, replier)
    assert built.inflight.enter(person(request()), "busy").admitted  # another of theirs is running
    queued = request()
    delay = handle_lookup(queued, built)
    assert delay is not None and delay > 0 and client.calls == []
    [(note, _)] = replier.sent
    assert "1 of your own lookups are ahead of this one" in str(note)
    assert handle_lookup(queued, built, attempt=1) == pytest.approx(delay)
    assert len(replier.sent) == 1  # told once
    built.inflight.leave(person(request()), "busy")
    assert handle_lookup(queued, built, attempt=2) is None
    assert "¥10.60" in str(replier.sent[-1]) and client.priorities == ["interactive"]
    assert built.inflight.enter(person(request()), "after").admitted  # it left its place when done


def test_a_second_lookup_in_flight_waits_as_bulk(tmp_path) -> None:
    client, replier = WatchingClient(), FakeReplier()
    built = _deps(tmp_path, client, replier, cap=2)
    built.inflight.enter(person(request()), "busy")
    assert handle_lookup(request(), built) is None
    assert client.priorities == ["bulk"]


def test_a_lookup_whose_reply_would_expire_waiting_runs_now(tmp_path) -> None:
    client, replier = WatchingClient(), FakeReplier()
    built = _deps(tmp_path, client, replier)
    built.inflight.enter(person(request()), "busy")
    late = request(received_at=NOW - 29 * 60 + 0.25)  # 0.25 s before its deadline
    assert handle_lookup(late, built) is None and client.priorities == ["bulk"]
