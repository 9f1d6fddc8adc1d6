"""Golden replies: reviewed Block Kit JSON for representative answers, compared exactly.

A renderer change shows up as a diff of these files, to be read as an approver would (the
Block Kit Builder link or `sandbox.preview` shows one). After a deliberate change:
`UPDATE_GOLDEN=1 pytest tests/unit/tasks/slack/test_golden.py`, then review the diff before committing.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sandbox.blockkit import validate_message
from sandbox.ekuaibao import REPORT_CODE, REPORT_ID, SandboxWorld
from tasks.ekuaibao.masters import InvoiceMaster
from tasks.ekuaibao.models import Attachment, LineItem
from tasks.ekuaibao.risk import parse_risk_labels
from tasks.shared.texts import EN, ZH, Texts
from tasks.slack import render
from tasks.summary import InvoiceSummary, LookupResult, ReportPage, with_risk

GOLDEN = Path(__file__).resolve().parents[3] / "golden"
EXPIRES = 1710500135
WORLD = SandboxWorld.load()


def invoice(invoice_id: str, **master_changes: Any) -> InvoiceSummary:
    inv = WORLD.invoices[invoice_id]
    lines = tuple(LineItem.from_api(raw) for raw in inv.lines)
    master = (
        InvoiceMaster.from_api(inv.object_id, inv.master).model_copy(update=master_changes)
        if inv.master is not None and inv.object_id is not None
        else None
    )
    links = ()
    if inv.attachment is not None:
        url = f"https://files.example/{len(invoice_id)}?Expires={EXPIRES}&Signature=golden"
        links = (
            Attachment(
                invoice_id=invoice_id,
                url=url,
                file_name=inv.attachment.file_name,
                kind=inv.attachment.kind,
                expires_at=EXPIRES,
                thumb_url=url if inv.attachment.kind == "image" else "",
            ),
        )
    return InvoiceSummary(invoice_id, lines, links, master)


def result(
    invoices: list[InvoiceSummary], missing: tuple[str, ...] = (), report: ReportPage | None = None
) -> LookupResult:
    requested = tuple(i.invoice_id for i in invoices) + missing
    return LookupResult(requested, tuple(invoices), missing, 0.0, report)


VAT_IDS = [i for i in WORLD.ids() if WORLD.invoices[i].lines]
TICKET_IDS = [i for i in WORLD.ids() if not WORLD.invoices[i].lines and WORLD.invoices[i].master]
FIRST = invoice(VAT_IDS[0])


def _mismatch() -> InvoiceSummary:
    base = invoice(VAT_IDS[0])
    assert base.master is not None and base.master.total is not None
    return InvoiceSummary(
        base.invoice_id,
        base.lines,
        base.attachments,
        base.master.model_copy(update={"total": base.master.total + Decimal("10")}),
    )


def _hostile() -> InvoiceSummary:
    base = invoice(
        VAT_IDS[0],
        seller="*粗体* _斜体_ ~删除~ `代码` <@U0SANDBOX> <!channel>\n第二行 & 公司",
        verified=False,
        remarks=":white_check_mark: 已验真",
    )
    odd = base.lines[0].model_copy(
        update={
            "name": ":white_check_mark: 已验真 *鞋*",
            "spec": "x" * 400,
            "amount": None,
            "unreadable": ("amount",),
        }
    )
    return InvoiceSummary(base.invoice_id, (odd, *base.lines[1:]), base.attachments, base.master)


def _twenty() -> list[InvoiceSummary]:
    ids = (VAT_IDS + TICKET_IDS) * 4
    return [invoice(i) for i in ids[:20]]


def _report() -> LookupResult:
    invoices = _twenty()
    info = invoices[0].master.report if invoices[0].master else None
    page = ReportPage(REPORT_CODE, info, total=45, first=20, count=20, page=1)
    return result(invoices, report=page)


def _report_flagged() -> LookupResult:
    """The sandbox report whole, with Ekuaibao's risk flags as the stand-in serves them."""
    invoices = [invoice(e["invoiceId"]) for e in WORLD.reports_by_id[REPORT_ID]]
    info = invoices[0].master.report if invoices[0].master else None
    page = ReportPage(REPORT_CODE, info, total=len(invoices), first=0, count=len(invoices), page=0)
    risk = parse_risk_labels({"items": list(WORLD.risk_labels.values())})[REPORT_ID]
    return with_risk(result(invoices, report=page), risk, read=True)


CASES: dict[str, Any] = {
    "one-invoice": lambda: result([FIRST]),
    "five-invoices-one-missing": lambda: result(
        [invoice(i) for i in (VAT_IDS + TICKET_IDS)[:4]], ("nope:1:2",)
    ),
    "twenty-compact": lambda: result(_twenty()),
    "report-page": _report,
    "report-flagged": _report_flagged,
    "ticket": lambda: result([invoice(TICKET_IDS[0])]),
    "mismatch": lambda: result([_mismatch()]),
    "hostile-text": lambda: result([_hostile()]),
    "nothing-found": lambda: result([], ("nope:1:2",)),
}


#: Cases drawn with pictures' thumbnails (PREVIEWS=images); the rest as with PREVIEWS=off.
WITH_PICTURES = {"report-flagged"}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize(("language", "texts"), [("en", EN), ("zh", ZH)])
def test_golden(name: str, language: str, texts: Texts) -> None:
    looked_up = CASES[name]()
    page = looked_up.report
    controls = render.Controls(
        owner="U0SANDBOX",
        report=page.report if page else "",
        page=page.page if page else 0,
        pictures=name in WITH_PICTURES,
    )
    messages = render.lookup_messages(looked_up, texts, controls)
    for message in messages:
        assert validate_message(message) == []
    path = GOLDEN / f"{name}.{language}.json"
    rendered = json.dumps(messages, ensure_ascii=False, indent=1) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 and review it"
    assert rendered == path.read_text(encoding="utf-8"), f"{path.name} changed: review the diff"
