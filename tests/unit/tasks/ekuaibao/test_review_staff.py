"""Staff by email: names may come from the day-long cache, power never does."""

from __future__ import annotations

from typing import Any, cast

from tasks.ekuaibao.approvals import ApprovalsApi
from tasks.ekuaibao.client import STAFF_IDS_PATH, EkuaibaoClient
from tests.fakes import Clock

ANN = {"id": "corp:ANN", "name": "Ann", "email": "ann@example.com", "active": True}


class Directory:
    """getStaffIds by MAIL over a directory the test changes."""

    def __init__(self) -> None:
        self.staff = [dict(ANN)]
        self.calls = 0

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert path == STAFF_IDS_PATH and body["type"] == "MAIL"
        self.calls += 1
        wanted = set(body["conditionIds"])
        return {"items": [s for s in self.staff if s["email"] in wanted and s["active"]]}


def test_an_uncached_read_sees_a_deactivation_the_cache_still_hides() -> None:
    directory = Directory()
    api = ApprovalsApi(cast(EkuaibaoClient, directory), clock=Clock())
    assert api.staff_by_email("Ann@Example.com") is not None  # a queue read: now cached
    directory.staff[0]["active"] = False  # 停用 a minute later
    assert api.staff_by_email("ann@example.com") is not None  # names may lag a day
    assert api.staff_by_email("ann@example.com", cached=False) is None  # power may not
    assert api.staff_by_email("ann@example.com") is None  # and the cache learnt it
    assert directory.calls == 2
