"""Finding a ticket's type when it is looked up by id: the calls each way costs.

Measured against a fake Ekuaibao that counts calls, for 1, 5 and 20 ids; `-s` prints the
table that docs/benchmarks.md ("Ticket types") quotes. The chosen way runs the real
`fetch`; the others are the alternatives it was measured against.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from tasks.contracts import LookupRequest
from tasks.ekuaibao.masters import LAYOUTS, InvoiceMaster
from tasks.lookup.deps import Deps, RetryPolicy
from tasks.lookup.fetching import fetch
from tasks.lookup.ticket_types import FIRST_WAVE, SECOND_WAVE, ticket_shaped
from tasks.shared.language import LanguagePicker
from tasks.state.report_cache import MemoryReportCache

ONE = {"T_taxi_0": "taxi"}
FIVE = {"c:1:1": "invoice", "c:1:2": "invoice", "T_taxi_0": "taxi", "T_train_0": "train"}
FIVE["T_flight_0"] = "flightItinerary"
TWENTY = {f"c:2:{n}": "invoice" for n in range(12)}
TWENTY |= {f"T_taxi_{n}": "taxi" for n in range(3)} | {f"T_train_{n}": "train" for n in range(2)}
TWENTY |= {"T_flight_0": "flightItinerary", "T_toll_0": "tolls", "T_med_0": "medical"}
MIXES = {1: ONE, 5: FIVE, 20: TWENTY}


def master(invoice_id: str, object_id: str) -> InvoiceMaster:
    return InvoiceMaster(
        invoice_id=invoice_id,
        object_id=object_id,
        code=None,
        number=None,
        issued_ms=1679328000000,
        category=None,
        seller=None,
        buyer=None,
        verified=None,
        total=Decimal("15.00"),
        report=None,
    )


class CountingEkuaibao:
    """Knows each id's type; counts every call, as the shared budget would."""

    def __init__(self, world: dict[str, str]) -> None:
        self.world = world
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls.append(name)

    def line_items(self, ids: Any) -> list:
        self._count("lines")
        return []

    def attachments(self, ids: Any, fetched_at: float | None = None) -> list:
        self._count("links")
        return []

    def invoice_masters(self, object_id: str, ids: Any) -> list[InvoiceMaster]:
        self._count(f"masters:{object_id}")
        return [master(i, t) for i, t in self.world.items() if i in ids and t == object_id]


def deps(client: CountingEkuaibao, cache: MemoryReportCache | None = None) -> Deps:
    return Deps(
        client=client,  # type: ignore[arg-type]
        replier=None,  # type: ignore[arg-type]
        executor=ThreadPoolExecutor(16),
        language=LanguagePicker("en", None),
        retry=RetryPolicy(),
        reports=cache,
        clock=lambda: 1_700_000_000.0,
    )


def chosen(world: dict[str, str], cache: MemoryReportCache | None = None) -> tuple[int, Any]:
    client = CountingEkuaibao(world)
    request = LookupRequest(ids=tuple(world), response_url="http://127.0.0.1:9/r")
    result = fetch(request, deps(client, cache))
    return len(client.calls), result


def vat_calls(world: dict[str, str]) -> int:
    """Links; lines and the `invoice` search only when a VAT-shaped id is asked."""
    return 3 if len(ticket_shaped(world)) < len(world) else 1


def every_type_at_once(world: dict[str, str]) -> tuple[int, int]:
    """Calls and sequential round trips: the 11 ticket types next to the VAT calls."""
    return vat_calls(world) + len(LAYOUTS) - 1, 1


def one_type_at_a_time(world: dict[str, str]) -> tuple[int, int]:
    """Next to the VAT calls, one ticket type per round trip until every id is found."""
    left = set(ticket_shaped(world))
    rounds = 0
    for object_id in (*FIRST_WAVE, *SECOND_WAVE):
        if not left:
            break
        rounds += 1
        left -= {i for i in left if world[i] == object_id}
    return vat_calls(world) + rounds, rounds


def expected_calls(world: dict[str, str]) -> int:
    """Lines, links and the `invoice` search when VAT ids are asked; the first wave when a
    ticket is; the second (its `invoice` search only if none was made) when a ticket is rarer."""
    vat = any(t == "invoice" for t in world.values())
    tickets = [t for t in world.values() if t != "invoice"]
    calls = (3 if vat else 1) + (len(FIRST_WAVE) if tickets else 0)
    if any(t in SECOND_WAVE for t in tickets):
        calls += len(SECOND_WAVE) + (0 if vat else 1)
    return calls


@pytest.mark.parametrize("n", sorted(MIXES))
def test_every_ticket_gets_its_master_and_the_calls_are_counted(n: int) -> None:
    world = MIXES[n]
    calls, result = chosen(world)
    assert {inv.invoice_id: inv.master.object_id for inv in result.invoices if inv.master} == world
    assert calls == expected_calls(world)
    assert calls == {1: 5, 5: 7, 20: 14}[n]


def test_a_ticket_seen_lately_costs_only_its_own_types_search() -> None:
    cache = MemoryReportCache()
    chosen(TWENTY, cache)  # learns the types
    calls, result = chosen(TWENTY, cache)
    types = {t for t in TWENTY.values()}
    assert calls == 2 + len(types)  # lines, links and one master search per type present
    assert all(inv.master for inv in result.invoices if TWENTY[inv.invoice_id] != "invoice")


def test_vat_ids_are_never_probed() -> None:
    calls, _ = chosen({"c:1:1": "invoice", "c::23312000000123878916": "invoice"})
    assert calls == 3


def test_a_ticket_is_not_sent_to_detail_batch_or_the_invoice_search() -> None:
    client = CountingEkuaibao({"T_taxi_0": "taxi"})
    fetch(LookupRequest(ids=("T_taxi_0",), response_url="http://127.0.0.1:9/r"), deps(client))
    assert "lines" not in client.calls and "masters:invoice" not in client.calls
    assert sorted(client.calls) == sorted(["links", *(f"masters:{t}" for t in FIRST_WAVE)])


def test_a_vat_invoice_with_an_id_of_another_shape_still_gets_its_header_and_lines() -> None:
    world = {"legacy-vat-7": "invoice"}
    client = CountingEkuaibao(world)
    request = LookupRequest(ids=tuple(world), response_url="http://127.0.0.1:9/r")
    result = fetch(request, deps(client))
    [found] = result.invoices
    assert found.master is not None and found.master.object_id == "invoice"
    assert client.calls.count("lines") == 1 and client.calls.count("masters:invoice") == 1


def test_no_type_is_searched_twice_for_one_id() -> None:
    cache = MemoryReportCache()
    chosen({"T_toll_0": "tolls"}, cache)  # its type is remembered now
    client = CountingEkuaibao({"T_toll_0": "tolls", "T_med_0": "medical"})
    request = LookupRequest(ids=("T_toll_0", "T_med_0"), response_url="http://127.0.0.1:9/r")
    fetch(request, deps(client, cache))
    assert sorted(set(client.calls)) == sorted(client.calls)  # one call per type at most
    # the unknown id rode along in the tolls search made for the known one
    assert client.calls.count("masters:tolls") == 1


def test_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Calls (round trips) per way, for 1, 5 and 20 ids: printed with `pytest -s`."""
    rows = []
    for n, world in sorted(MIXES.items()):
        cold, _ = chosen(world)
        cache = MemoryReportCache()
        chosen(world, cache)
        warm, _ = chosen(world, cache)
        rounds = 2 if any(t in SECOND_WAVE for t in world.values()) else 1
        rows.append(
            f"{n:>3} ids | all at once {every_type_at_once(world)[0]} (1) | one at a time "
            f"{one_type_at_a_time(world)[0]} ({one_type_at_a_time(world)[1]}) | two waves "
            f"{cold} ({rounds}) | two waves, seen lately {warm} (1)"
        )
    with capsys.disabled():
        print("\n" + "\n".join(rows))
    assert len(rows) == 3
