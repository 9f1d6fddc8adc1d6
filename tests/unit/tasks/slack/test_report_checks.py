"""The report header answers "does it add up", and names the submitter (issue 12 #13)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.blockkit import validate_message
from tasks.contracts import LookupRequest
from tasks.ekuaibao.approval_models import Staff
from tasks.ekuaibao.errors import Unavailable
from tasks.ekuaibao.masters import InvoiceMaster, ReportInvoiceRef
from tasks.lookup.deps import Deps, RetryPolicy
from tasks.lookup.fetching import fetch
from tasks.shared.language import LanguagePicker
from tasks.shared.texts import EN, ZH
from tasks.slack.checks import report_checks_blocks
from tasks.slack.headers import report_header_blocks
from tasks.slack.render import lookup_messages
from tasks.summary import InvoiceSummary, ReportPage

DATA = Path(__file__).resolve().parents[4] / "sandbox" / "data"
BY_TYPE: dict[str, dict[str, Any]] = json.loads((DATA / "invoice-master.by-type.json").read_text())
VAT = InvoiceMaster.from_api("invoice", BY_TYPE["invoice"])
REPORT = VAT.report
assert REPORT is not None and REPORT.flow_id and REPORT.submitter_id


def invoice(n: int, total: str, **update: Any) -> InvoiceSummary:
    master = VAT.model_copy(update={"invoice_id": f"c:1:{n}", "total": Decimal(total), **update})
    return InvoiceSummary(master.invoice_id, (), (), master)


def page(invoices: int, total: int | None = None, **update: Any) -> ReportPage:
    info = REPORT.model_copy(update=update) if update else REPORT
    return ReportPage("B23001249", info, total or invoices, 0, invoices, 0)


def text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_a_report_whose_invoices_add_up_says_so() -> None:
    invoices = [invoice(1, "100.00"), invoice(2, "17.32")]
    blocks = report_checks_blocks(page(2, expense_total=Decimal("117.32")), invoices, EN)
    assert "its invoices add up to it" in text(blocks)
    assert "every invoice verified" in text(blocks)


def test_a_report_that_does_not_add_up_counts_what_to_look_at() -> None:
    other = REPORT.model_copy(update={"flow_id": "ID_other"})
    invoices = [invoice(1, "100.00", verified=False), invoice(2, "50.00", report=other)]
    blocks = report_checks_blocks(page(2, expense_total=Decimal("117.32")), invoices, ZH)
    assert "发票合计为 ¥150.00，相差 ¥32.68" in text(blocks)
    assert "1 张未验真" in text(blocks) and "1 张已用于其他单据" in text(blocks)


def test_a_partial_page_compares_nothing_with_the_expense_total() -> None:
    blocks = report_checks_blocks(page(1, total=45), [invoice(1, "100.00")], EN)
    assert "invoices on this page add up to ¥100.00" in text(blocks)
    assert "add up to it" not in text(blocks)


def test_the_submitter_is_named_when_known_and_the_id_otherwise() -> None:
    named = report_header_blocks(REPORT, "B23001249", 1, EN, "张三 <@U1>")
    assert "*Submitter*\\n张三 &lt;@U1&gt;" in text(named)
    assert "`ID01ojZ2n2e0PR`" in text(report_header_blocks(REPORT, "B23001249", 1, EN))


def test_the_whole_reply_carries_the_checks_and_is_valid() -> None:
    from tasks.summary import LookupResult

    result = LookupResult(("c:1:1",), (invoice(1, "1.00"),), (), 0.0, page(1))
    [message] = lookup_messages(result, EN)
    assert validate_message(message) == []
    assert "its invoices add up to" in text(message["blocks"])


class Ekuaibao:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def report_invoices(self, kind: str, values: Any) -> dict:
        ref = ReportInvoiceRef(invoice_id=VAT.invoice_id, item_ids=(), invoice_type="invoice")
        return {v: [ref] for v in values}

    def line_items(self, ids: Any) -> list:
        return []

    def attachments(self, ids: Any, fetched_at: float | None = None) -> list:
        return []

    def invoice_masters(self, object_id: str, ids: Any) -> list:
        return [VAT] if object_id == "invoice" else []


def fetched(staff: Any) -> ReportPage | None:
    deps = Deps(
        client=Ekuaibao(),  # type: ignore[arg-type]
        replier=None,  # type: ignore[arg-type]
        executor=ThreadPoolExecutor(4),
        language=LanguagePicker("en", None),
        retry=RetryPolicy(),
        staff=staff,
    )
    request = LookupRequest(report="B23001249", response_url="http://127.0.0.1:9/r")
    return fetch(request, deps).report


def test_the_name_is_looked_up_and_a_failing_lookup_only_costs_the_name() -> None:
    asked: list[list[str]] = []

    def staff(ids: list[str]) -> dict[str, Staff]:
        asked.append(ids)
        return {ids[0]: Staff(staff_id=ids[0], name="王五", email="", department_id="")}

    def broken(ids: list[str]) -> dict[str, Staff]:
        raise Unavailable("staff directory away")

    named = fetched(staff)
    assert named is not None and named.submitter_name == "王五"
    assert asked == [[REPORT.submitter_id]]
    unnamed = fetched(broken)
    assert unnamed is not None and unnamed.submitter_name is None and unnamed.info == REPORT
