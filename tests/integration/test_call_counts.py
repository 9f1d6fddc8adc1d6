"""The Ekuaibao calls per lookup that bench/calls.py reports, against the stand-in with the
real client: the targets hold, so a lookup that spends more fails here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.calls import Bench, Row, add_second_toll, rows
from sandbox.ekuaibao import EkuaibaoStandIn


@pytest.fixture(scope="module")
def measured() -> Iterator[dict[str, Row]]:
    with EkuaibaoStandIn() as standin:
        add_second_toll(standin)
        bench = Bench(standin)
        try:
            yield {row.kind: row for row in rows(bench)}
        finally:
            bench.close()


def test_vat_only_lookups_cost_the_floor(measured: dict[str, Row]) -> None:
    assert measured["VAT only (5 ids)"].cold == 3
    assert measured["fully digital (1 id)"].cold == 3


def test_a_mixed_lookup_whose_ticket_type_is_known_costs_four(measured: dict[str, Row]) -> None:
    mixed = measured["VAT + taxi (2 ids)"]
    assert mixed.again == 4 and mixed.after_report == 4


def test_a_bare_ticket_never_seen_costs_at_most_seven(measured: dict[str, Row]) -> None:
    assert measured["bare ticket: taxi"].cold <= 7
    assert measured["bare ticket: taxi"].cold == 5  # INVOICE/url and the first wave
    assert measured["bare ticket: tolls, on no report"].after_report == 5


def test_an_id_that_matched_nothing_asked_again_costs_at_most_three(
    measured: dict[str, Row],
) -> None:
    for kind in ("matches nothing, ticket-shaped", "matches nothing, VAT-shaped"):
        again = measured[kind].again
        assert again is not None and again <= 3
    assert measured["matches nothing, ticket-shaped"].again == 1  # its links only


def test_no_kind_of_id_costs_more_than_before(measured: dict[str, Row]) -> None:
    """Ceilings measured before the id memory (main), per kind."""
    for row in measured.values():
        ceiling = 14 if row.kind.startswith(("bare ticket", "matches nothing")) else 7
        assert row.cold <= ceiling and (row.again or 0) <= ceiling


def test_a_report_that_changed_since_refetches_only_what_is_new(
    measured: dict[str, Row],
) -> None:
    seen_lately = measured["report code B23001249"].again
    assert measured["report, order changed since"].again == seen_lately
    assert measured["report, an invoice removed since"].again == seen_lately
