"""The bench world's taxi tickets: the bot takes them for tickets, and a search of their
report names each one's type, so one warm-up search teaches the workers every type."""

import pytest

from bench.standins import TICKET_REPORT_CODE, TICKETS, add_tickets, synthetic_world
from sandbox.ekuaibao import SandboxWorld
from tasks.lookup.ticket_types import ticket_shaped


@pytest.fixture(scope="module")
def world() -> tuple[SandboxWorld, list[str], list[str]]:
    world, vat = synthetic_world(10, 5)
    return world, vat, add_tickets(world, TICKETS)


def test_the_tickets_are_distinct_taxi_tickets_with_masters_and_attachments(world) -> None:
    sandbox, vat, tickets = world
    assert len(set(tickets)) == TICKETS and not set(tickets) & set(vat)
    assert ticket_shaped(tickets) == tickets and ticket_shaped(vat) == []
    files = set()
    for ticket in tickets:
        invoice = sandbox.invoices[ticket]
        assert invoice.object_id == "taxi" and invoice.master is not None
        assert invoice.master["id"] == ticket and invoice.attachment is not None
        assert sandbox.by_file_name[invoice.attachment.file_name] is invoice.attachment
        files.add(invoice.attachment.file_name)
    assert len(files) == TICKETS
    assert {m["id"] for m in sandbox.masters_of("taxi")} >= set(tickets)


def test_their_report_lists_each_with_its_type(world) -> None:
    sandbox, _, tickets = world
    entries = sandbox.reports_by_code[TICKET_REPORT_CODE]
    assert [e["invoiceId"] for e in entries] == tickets
    assert {e["invoiceType"] for e in entries} == {"taxi"}
