"""A report seen lately whose page changed: what the early fetch already has is kept, and
only the invoices new on the page are fetched again."""

from __future__ import annotations

from typing import Any

from tasks.state.report_cache import MemoryReportCache
from tests.unit.tasks.lookup.test_id_memory import REPORT, Ekuaibao, ask

WORLD = {"c:3:0": "invoice", "c:3:1": "invoice", "c:3:9": "invoice", "T_taxi_0": "taxi"}


class Recording(Ekuaibao):
    def __init__(self, reports: dict[str, list[str]]) -> None:
        super().__init__(dict(WORLD), reports)
        self.asked: list[tuple[str, list[str]]] = []

    def line_items(self, ids: Any) -> list:
        self.asked.append(("lines", list(ids)))
        return super().line_items(ids)

    def attachments(self, ids: Any, fetched_at: float | None = None) -> list:
        self.asked.append(("links", list(ids)))
        return super().attachments(ids, fetched_at)


def shown(result: Any) -> list[str]:
    return [i.invoice_id for i in result.invoices]


def test_a_page_that_only_changed_order_is_not_fetched_twice() -> None:
    client, cache = Recording({REPORT: ["c:3:0", "c:3:1"]}), MemoryReportCache()
    ask(client, cache, report=REPORT)
    client.reports[REPORT] = ["c:3:1", "c:3:0"]
    client.asked.clear()
    result = ask(client, cache, report=REPORT)
    assert shown(result) == ["c:3:1", "c:3:0"]
    assert sorted(client.calls) == ["lines", "links", "masters:invoice", "report:code"]


def test_only_the_invoices_new_on_the_page_are_fetched_again() -> None:
    client, cache = Recording({REPORT: ["c:3:0", "c:3:1", "T_taxi_0"]}), MemoryReportCache()
    ask(client, cache, report=REPORT)
    client.reports[REPORT] = ["c:3:0", "c:3:9", "T_taxi_0"]  # one invoice swapped
    client.asked.clear()
    result = ask(client, cache, report=REPORT)
    assert shown(result) == ["c:3:0", "c:3:9", "T_taxi_0"]  # c:3:1 is gone from the reply
    assert client.asked[-2:] in (
        [("lines", ["c:3:9"]), ("links", ["c:3:9"])],
        [("links", ["c:3:9"]), ("lines", ["c:3:9"])],
    )
    assert client.calls.count("masters:taxi") == 1  # the taxi's answer was kept
    assert len(client.calls) == 1 + 4 + 3  # search, the early fetch, the new invoice's
    assert all(link.invoice_id != "c:3:1" for inv in result.invoices for link in inv.attachments)
