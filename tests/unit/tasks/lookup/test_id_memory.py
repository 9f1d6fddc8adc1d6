"""The Ekuaibao calls a lookup spends per kind of id, against a fake that counts them, with
what earlier lookups and report searches taught the id memory."""

from __future__ import annotations

from typing import Any

from tasks.contracts import LookupRequest
from tasks.ekuaibao.errors import BadRequest
from tasks.ekuaibao.masters import InvoiceMaster, ReportInvoiceRef
from tasks.ekuaibao.models import Attachment
from tasks.lookup.fetching import fetch
from tasks.lookup.id_memory import MISS_TTL_S, IdMemory
from tasks.lookup.ticket_types import FIRST_WAVE, SECOND_WAVE, waves_for
from tasks.state.report_cache import MemoryReportCache
from tests.unit.tasks.lookup.test_ticket_types import CountingEkuaibao, deps

VAT5 = {f"c:3:{n}": "invoice" for n in range(5)}
TAXI, TOLL, TYPO = "T_taxi_0", "T_toll_0", "T_typo_404"
REPORT = "B23001249"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Ekuaibao(CountingEkuaibao):
    """Also has files for some ids, reports, and refuses the types in `refuse`."""

    def __init__(self, world: dict[str, str], reports: dict[str, list[str]] | None = None):
        super().__init__(world)
        self.files: set[str] = set(world)
        self.reports = reports or {}
        self.refuse: set[str] = set()

    def attachments(self, ids: Any, fetched_at: float | None = None) -> list:
        self._count("links")
        return [
            Attachment(invoice_id=i, url=f"http://127.0.0.1:9/{i}", file_name="a.png",
                       kind="image", expires_at=2_000_000_000)
            for i in ids if i in self.files
        ]  # fmt: skip

    def invoice_masters(self, object_id: str, ids: Any) -> list[InvoiceMaster]:
        if object_id in self.refuse:
            self._count(f"masters:{object_id}")
            raise BadRequest(400, "不支持的业务对象")
        return super().invoice_masters(object_id, ids)

    def report_invoices(self, kind: str, values: Any) -> dict[str, list[ReportInvoiceRef]]:
        self._count(f"report:{kind}")
        return {
            v: [ReportInvoiceRef(invoice_id=i, item_ids=(), invoice_type=self.world[i])
                for i in self.reports[v]]
            for v in values if v in self.reports
        }  # fmt: skip


def ask(client: Ekuaibao, cache: MemoryReportCache, *ids: str, report: str = "") -> Any:
    client.calls.clear()
    request = LookupRequest(ids=ids, report=report, response_url="http://127.0.0.1:9/r")
    return fetch(request, deps(client, cache))  # type: ignore[arg-type]


def test_the_call_targets_per_kind_of_id() -> None:
    world = {**VAT5, TAXI: "taxi", TYPO: "nothing"}
    client, cache = Ekuaibao(world, {REPORT: ["c:3:0", TAXI]}), MemoryReportCache()
    client.files.discard(TYPO)
    ask(client, cache, *VAT5)
    assert len(client.calls) == 3  # VAT only: detailBatch, INVOICE/url, invoice search
    ask(client, cache, TAXI)
    assert len(client.calls) <= 7  # a bare ticket never seen
    ask(client, MemoryReportCache(), TYPO)
    cold_miss = len(client.calls)
    ask(client, cache, report=REPORT)  # a report search shows the taxi's type
    fresh = MemoryReportCache()
    ask(client, fresh, report=REPORT)
    ask(client, fresh, "c:3:1", TAXI)
    assert len(client.calls) == 4  # mixed, the ticket's type known: + its type's search
    ask(client, fresh, TYPO)
    result = ask(client, fresh, TYPO)
    assert len(client.calls) <= 3 and result.not_found == (TYPO,)  # a miss asked again
    assert cold_miss == 1 + len(FIRST_WAVE) + len(SECOND_WAVE) + 1


def test_a_miss_asked_again_costs_only_its_links_until_it_is_forgotten() -> None:
    clock = Clock()
    client, cache = Ekuaibao({"c:3:0": "invoice"}), MemoryReportCache(clock)
    cold = ask(client, cache, "c:3:0", TYPO)
    assert cold.not_found == (TYPO,) and len(client.calls) == 3 + len(FIRST_WAVE) + 7
    warm = ask(client, cache, "c:3:0", TYPO)
    assert warm.not_found == cold.not_found and len(client.calls) == 3
    assert warm.invoices == cold.invoices
    ask(client, cache, TYPO)
    assert client.calls == ["links"]  # still asked, in case it has a file now
    clock.now += MISS_TTL_S + 1
    ask(client, cache, TYPO)
    assert len(client.calls) == 1 + len(FIRST_WAVE) + len(SECOND_WAVE) + 1


def test_asking_again_does_not_keep_a_miss_alive() -> None:
    clock = Clock()
    client, cache = Ekuaibao({}), MemoryReportCache(clock)
    ask(client, cache, TYPO)
    clock.now += MISS_TTL_S - 1
    ask(client, cache, TYPO)
    clock.now += 2
    ask(client, cache, TYPO)
    assert len(client.calls) > 1  # probed again: remembered from the first ask only


def test_a_miss_that_has_a_file_now_is_probed_after_all() -> None:
    client, cache = Ekuaibao({}), MemoryReportCache()
    assert ask(client, cache, TOLL).not_found == (TOLL,)
    client.world[TOLL] = "tolls"  # created since, with its file
    client.files.add(TOLL)
    result = ask(client, cache, TOLL)
    [found] = result.invoices
    assert found.master is not None and found.master.object_id == "tolls"
    ask(client, cache, TOLL)
    assert sorted(client.calls) == ["links", "masters:tolls"]  # its type is remembered


def test_a_report_search_that_shows_the_id_forgets_the_miss() -> None:
    client, cache = Ekuaibao({}, {REPORT: [TOLL]}), MemoryReportCache()
    ask(client, cache, TOLL)
    client.world[TOLL] = "tolls"
    client.files.discard(TOLL)  # no file: only the report search tells
    ask(client, cache, report=REPORT)
    result = ask(client, cache, TOLL)
    assert [i.invoice_id for i in result.invoices] == [TOLL]
    assert sorted(client.calls) == ["links", "masters:tolls"]


def test_a_refused_search_remembers_no_miss() -> None:
    client, cache = Ekuaibao({}), MemoryReportCache()
    client.refuse.add("medical")
    ask(client, cache, TYPO)
    client.refuse.clear()
    ask(client, cache, TYPO)
    assert "masters:medical" in client.calls  # probed again: "not found" was unsure


def test_the_probe_order_follows_the_tenants_recent_tickets() -> None:
    reports = {REPORT: [f"T_toll_{n}" for n in range(3)]}
    world = {f"T_toll_{n}": "tolls" for n in range(5)}
    client, cache = Ekuaibao(world, reports), MemoryReportCache()
    ask(client, cache, "T_toll_3")
    assert len(client.calls) == 1 + len(FIRST_WAVE) + len(SECOND_WAVE) + 1  # cold tenant
    ask(client, cache, report=REPORT)  # this tenant's reports are full of tolls
    ask(client, cache, "T_toll_4")
    assert len(client.calls) == 1 + len(FIRST_WAVE) and "masters:tolls" in client.calls


def test_waves_keep_their_size_and_every_type() -> None:
    first, second = waves_for({"medical": 3, "taxi": 1, "tolls": 3})
    assert first == ("tolls", "medical", "taxi", "train")  # ties in the static order
    assert len(first) == len(FIRST_WAVE) and second[-1] == "invoice"
    assert sorted((*first, *second[:-1])) == sorted((*FIRST_WAVE, *SECOND_WAVE))
    assert waves_for({}) == (FIRST_WAVE, (*SECOND_WAVE, "invoice"))


def test_a_failing_cache_only_costs_calls() -> None:
    class Broken(MemoryReportCache):
        def get_many(self, keys: list[str]) -> dict:
            raise ConnectionError("redis down")

        def put_many(self, entries: Any, ttl_s: float = 0) -> None:
            raise ConnectionError("redis down")

    client = Ekuaibao({TAXI: "taxi"})
    assert ask(client, Broken(), TAXI).invoices[0].master is not None
    memory = IdMemory(Broken())
    memory.remember_misses([TYPO])
    assert memory.recall([TYPO]).misses == frozenset()


def test_the_memory_cache_keeps_each_entry_for_its_own_ttl() -> None:
    clock = Clock()
    cache = MemoryReportCache(clock)
    ref = ReportInvoiceRef(invoice_id="x", item_ids=(), invoice_type="taxi")
    cache.put_many({"short": [ref]}, 10)
    cache.put("long", [ref])
    clock.now += 11
    assert cache.get_many(["short", "long", "never"]) == {"long": [ref]}


def test_a_reports_ticket_without_a_type_is_probed_not_searched_as_vat() -> None:
    class OldEkuaibao(Ekuaibao):  # before 2.0.0, §4 gave no type for medical tickets
        def report_invoices(self, kind: str, values: Any) -> dict[str, list[ReportInvoiceRef]]:
            found = super().report_invoices(kind, values)
            return {
                k: [r.model_copy(update={"invoice_type": None}) for r in v]
                for k, v in found.items()
            }

    client = OldEkuaibao({"T_med_0": "medical"}, {REPORT: ["T_med_0"]})
    result = ask(client, MemoryReportCache(), report=REPORT)
    [found] = result.invoices
    assert found.master is not None and found.master.object_id == "medical"
    assert "lines" not in client.calls  # no detailBatch for a ticket


def test_a_type_from_a_report_never_overrides_a_vat_ids_shape() -> None:
    class Garbled(Ekuaibao):  # a report search that names no §5 type
        def report_invoices(self, kind: str, values: Any) -> dict[str, list[ReportInvoiceRef]]:
            found = super().report_invoices(kind, values)
            return {
                k: [r.model_copy(update={"invoice_type": "../../x"}) for r in v]
                for k, v in found.items()
            }

    client, cache = (
        Garbled({"c:3:0": "invoice", TAXI: "taxi"}, {REPORT: ["c:3:0", TAXI]}),
        MemoryReportCache(),
    )
    ask(client, cache, report=REPORT)
    assert IdMemory(cache).recall([TAXI]).types == {}  # garbage is not remembered as a type
    result = ask(client, cache, "c:3:0", TAXI)
    assert all(inv.master is not None for inv in result.invoices)
    assert "lines" in client.calls and "masters:invoice" in client.calls
