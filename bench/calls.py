"""Ekuaibao calls per lookup, per kind of id: cold (first ask), asked again within the
remembered-miss window, and after a report search showed the ticket (for the second
tolls ticket: showed another ticket of its type).

``python -m bench.calls`` runs the worker's real fetch (``tasks.lookup.fetching.fetch``,
the real client, the in-memory report cache) against the sandbox Ekuaibao stand-in on
loopback, and prints a markdown table: no Redis, no Slack, no broker. Each row starts from
an empty cache and counts every call the stand-in answered except the token's, as the
tenant's shared budget (5 a second by default) would. docs/benchmarks.md ("Ticket types")
quotes it.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.ekuaibao import REPORT_CODE, EkuaibaoStandIn
from tasks.contracts import LookupRequest
from tasks.ekuaibao.approvals import ApprovalsApi
from tasks.ekuaibao.client import Credentials, EkuaibaoClient
from tasks.ekuaibao.tokens import MemoryTokenStore
from tasks.lookup.deps import Deps, RetryPolicy
from tasks.lookup.fetching import fetch
from tasks.shared.language import LanguagePicker
from tasks.state.report_cache import MemoryReportCache

VAT = (
    "djg8LshfUkfM00:033002100311:23272058",
    "djg8LshfUkfM00:044031900111:69872971",
    "0aM9AbvdhI0400:011001900111:07517347",
    "djg8LshfUkfM00:044032100111:13415524",
    "Tdk3tgber501v0:044002105112:13116949",
)
FULLY_DIGITAL = "Tdk3tgber501v0::24442000000074288816"
#: The sandbox's ticket of each type; the taxi is on the sandbox report.
TICKETS = {
    "taxi": "ID01t7pX8ylwkL",
    "train": "ID01v59hQ4er7U",
    "flightItinerary": "ID01s0g9CscDmv",
    "other": "ID01tN3JL0a3LN",
    "tolls": "ID01v59mwmc9My",
    "machinePrint": "ID01s0ghjNSZjx",
    "fixed": "ID01ry1IQSSacL",
    "passengerCar": "ID01sjCK7t9r7p",
    "shopping": "ID01qBMNxDGFk3",
    "medical": "ID01ptP27kPF39",
    "noTaxIncome": "ID01sH5bQFNkoT",
}
#: A second tolls ticket, on no report: a rare type, once the tenant's reports showed it.
SECOND_TOLL = "ID01benchToll2"
TYPO_TICKET = "ID01xx0typo000"
TYPO_VAT = "djg8LshfUkfM00:044031900111:00000000"


@dataclass(frozen=True)
class Row:
    kind: str
    cold: int
    again: int | None
    after_report: int | None


class Bench:
    def __init__(self, standin: EkuaibaoStandIn) -> None:
        self.standin = standin
        self.http = httpx.Client(base_url=standin.base_url, trust_env=False, timeout=10)
        self.pool = ThreadPoolExecutor(max_workers=32)

    def deps(self) -> Deps:
        """A worker that has seen nothing yet: empty report cache, staff cache and token."""
        credentials = Credentials(self.standin.app_key, self.standin.app_security)
        client = EkuaibaoClient(self.http, credentials, MemoryTokenStore())
        return Deps(
            client=client,
            replier=None,  # type: ignore[arg-type]  # nothing is sent: fetch only
            executor=self.pool,
            language=LanguagePicker("en", None),
            retry=RetryPolicy(),
            reports=MemoryReportCache(),
            staff=ApprovalsApi(client).staff,
        )

    def calls(self, deps: Deps, ids: Sequence[str] = (), report: str = "") -> int:
        """The Ekuaibao calls of one lookup, the token's left out."""
        before = len(self.standin.calls)
        request = LookupRequest(ids=tuple(ids), report=report, response_url="http://127.0.0.1:9/r")
        fetch(request, deps)
        return sum("/auth/" not in c.path for c in self.standin.calls[before:])

    def row(self, kind: str, ids: Sequence[str] = (), report: str = "") -> Row:
        deps = self.deps()
        cold = self.calls(deps, ids, report)
        again = self.calls(deps, ids, report)
        shown: int | None = None
        codes = self.reports_of(ids)
        if not report and codes:
            deps = self.deps()
            for code in codes:
                self.calls(deps, report=code)
            shown = self.calls(deps, ids)
        return Row(kind, cold, again, shown)

    def reports_of(self, ids: Sequence[str]) -> list[str]:
        """The codes of the reports the ids are on (a report search of each shows them)."""
        by_code = self.standin.world.reports_by_code
        wanted = set(ids)
        return [c for c, entries in by_code.items() if wanted & {e["invoiceId"] for e in entries}]

    def close(self) -> None:
        self.http.close()
        self.pool.shutdown()


def add_second_toll(standin: EkuaibaoStandIn) -> None:
    toll = standin.world.invoices[TICKETS["tolls"]]
    master = {k: v for k, v in (toll.master or {}).items() if k not in ("flowId", "flowForm")}
    standin.world.invoices[SECOND_TOLL] = dataclasses.replace(
        toll, invoice_id=SECOND_TOLL, master={**master, "id": SECOND_TOLL}
    )


def rare_type_seen_in_reports(bench: Bench) -> Row:
    """A tolls ticket never seen, cold, and after a report search showed another tolls one."""
    row = bench.row("bare ticket: tolls, on no report", [SECOND_TOLL])
    deps = bench.deps()
    for code in bench.reports_of([TICKETS["tolls"]]):
        bench.calls(deps, report=code)
    return dataclasses.replace(row, after_report=bench.calls(deps, [SECOND_TOLL]))


def report_changed(bench: Bench, kind: str, change: Callable[[list[Any]], list[Any]]) -> Row:
    """The report looked up, changed in Ekuaibao, and looked up again (its early fetch)."""
    by_code = bench.standin.world.reports_by_code
    entries = by_code[REPORT_CODE]
    deps = bench.deps()
    cold = bench.calls(deps, report=REPORT_CODE)
    by_code[REPORT_CODE] = change(list(entries))
    try:
        return Row(kind, cold, bench.calls(deps, report=REPORT_CODE), None)
    finally:
        by_code[REPORT_CODE] = entries


def rows(bench: Bench) -> list[Row]:
    measured: list[Callable[[], Row]] = [
        lambda: bench.row("VAT only (5 ids)", VAT),
        lambda: bench.row("fully digital (1 id)", [FULLY_DIGITAL]),
        lambda: bench.row("VAT + taxi (2 ids)", [VAT[0], TICKETS["taxi"]]),
        *(
            (lambda t=t: bench.row(f"bare ticket: {t}", [TICKETS[t]]))  # type: ignore[misc]
            for t in TICKETS
        ),
        lambda: rare_type_seen_in_reports(bench),
        lambda: bench.row("matches nothing, ticket-shaped", [TYPO_TICKET]),
        lambda: bench.row("matches nothing, VAT-shaped", [TYPO_VAT]),
        lambda: bench.row(f"report code {REPORT_CODE}", report=REPORT_CODE),
        lambda: report_changed(bench, "report, order changed since", lambda e: e[::-1]),
        lambda: report_changed(bench, "report, an invoice removed since", lambda e: e[1:]),
    ]
    return [measure() for measure in measured]


def table(measured: list[Row]) -> str:
    def cell(n: int | None) -> str:
        return "–" if n is None else str(n)

    out = [
        "| lookup | cold | asked again (< 10 min) | after a report search showed it |",
        "|---|---|---|---|",
    ]
    out += [f"| {r.kind} | {r.cold} | {cell(r.again)} | {cell(r.after_report)} |" for r in measured]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    with EkuaibaoStandIn() as standin:
        add_second_toll(standin)
        bench = Bench(standin)
        try:
            print(table(rows(bench)))
        finally:
            bench.close()


if __name__ == "__main__":
    main()
