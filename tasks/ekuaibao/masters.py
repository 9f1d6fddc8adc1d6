"""Typed views of invoice master records (API.md §5) and report → invoice refs (§4).

Each ticket type keeps its fields under its own `E_<entityId>_` prefix with its own names
for the amount, the date and the code/number, so one layout per objectId says where to
look. Only whitelisted fields are read: flight and coach tickets carry 身份证号 and
passenger names, which must never reach Slack, so the models simply have no place for them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from tasks.ekuaibao.models import FieldReader, MalformedPayload, parse_money

#: The VAT entity; some shared keys (验真, 发票类别, 图片) live under it on every type.
_MAIN = "system_发票主体"


@dataclass(frozen=True)
class _Layout:
    """Where one ticket type keeps the fields we show (suffixes after `E_<entity>_`)."""

    entity: str
    amount: str
    date: str | None
    codes: tuple[str, ...] = ("发票代码", "票据代码")
    numbers: tuple[str, ...] = ("发票号码", "票据号码", "号码")


#: API.md §5 table, checked against the keys in samples/invoice-master.by-type.json.
LAYOUTS: Mapping[str, _Layout] = {
    "invoice": _Layout(_MAIN, "价税合计", "发票日期"),
    "other": _Layout("system_其他", "金额", "日期"),
    "taxi": _Layout("system_出租车票", "金额", "上车时间"),
    "fixed": _Layout("system_定额发票", "金额", None),
    "passengerCar": _Layout("system_客运汽车发票", "金额", "时间"),
    "machinePrint": _Layout("system_机打发票", "金额", "时间"),
    "shopping": _Layout("system_消费小票", "金额", "时间"),
    "train": _Layout("system_火车票", "金额", "乘车时间"),
    "flightItinerary": _Layout(
        "system_航空运输电子客票行程单",
        "金额",
        "乘机时间",
        numbers=("电子客票号码", "号码"),
    ),
    "tolls": _Layout("system_过路费发票", "金额", "时间"),
    "medical": _Layout("system_医疗发票", "金额合计", "开票日期"),
    "noTaxIncome": _Layout("system_非税收入类票据", "金额合计", "开票日期"),
}


def _layout(object_id: str, raw: Mapping[str, Any]) -> _Layout:
    """The §5 layout; a type Ekuaibao added later falls back to its own `entityId`."""
    if object_id in LAYOUTS:
        return LAYOUTS[object_id]
    entity = raw.get("entityId")
    if not isinstance(entity, str) or not entity:
        raise MalformedPayload(f"unknown invoice type {object_id!r} without entityId")
    return _Layout(entity, "金额", None)


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    """A short text field; numbers are accepted (codes sometimes arrive as numbers)."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedPayload(f"{key} is not text")
    return str(value).strip() or None


def _first_text(raw: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if (text := _text(raw, key)) is not None:
            return text
    return None


def _epoch_ms(raw: Mapping[str, Any], key: str) -> int | None:
    """Epoch ms; 0 is Ekuaibao's "no date" (as in `voucherCreateTime: 0`), so it is None."""
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedPayload(f"{key} is not an epoch-ms timestamp")
    return int(value) if value > 0 else None


def _flag(raw: Mapping[str, Any], key: str) -> bool | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise MalformedPayload(f"{key} is not a boolean")


class ReportInfo(BaseModel):
    """The report (单据) an invoice is used on, as embedded in the master record."""

    model_config = ConfigDict(frozen=True)

    flow_id: str | None
    code: str | None
    title: str | None
    state: str | None
    submitter_id: str | None  # `<corpId>:<staffId>`
    submitted_ms: int | None
    expense_total: Decimal | None
    #: Fields whose value could not be read (shown as "—", with a warning).
    unreadable: tuple[str, ...] = ()

    @classmethod
    def from_master(cls, raw: Mapping[str, Any]) -> ReportInfo | None:
        """From `flowId` + `flowForm`; None for an unused invoice (neither present)."""
        form = raw.get("flowForm")
        flow_id = _text(raw, "flowId")
        if form is None:
            form = {}
        elif not isinstance(form, dict):
            raise MalformedPayload("flowForm is not an object")
        if flow_id is None and not form:
            return None
        reader = FieldReader()
        return cls(
            flow_id=flow_id,
            code=_text(form, "code"),
            title=_text(form, "title"),
            state=_text(form, "state"),
            submitter_id=_text(form, "submitterId"),
            submitted_ms=reader.read("submitted", lambda: _epoch_ms(form, "submitDate")),
            expense_total=reader.read(
                "expense_total", lambda: parse_money(form.get("expenseMoney"))
            ),
            unreadable=tuple(reader.unreadable),
        )


class InvoiceMaster(BaseModel):
    """One invoice or ticket's master record: the whitelisted fields a header shows."""

    model_config = ConfigDict(frozen=True)

    invoice_id: str
    object_id: str
    code: str | None
    number: str | None
    issued_ms: int | None
    category: str | None
    seller: str | None
    buyer: str | None
    verified: bool | None
    total: Decimal | None
    report: ReportInfo | None
    #: 纳税人识别号 of each party and 备注, where the type has them.
    seller_tax_id: str | None = None
    buyer_tax_id: str | None = None
    remarks: str | None = None
    #: Fields whose value could not be read (shown as "—", with a warning).
    unreadable: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, object_id: str, raw: Mapping[str, Any]) -> InvoiceMaster:
        if not isinstance(raw, Mapping):
            raise MalformedPayload("invoice master is not an object")
        invoice_id = raw.get("id")
        if not isinstance(invoice_id, str) or not invoice_id:
            raise MalformedPayload("invoice master without id")
        layout = _layout(object_id, raw)
        own, main = f"E_{layout.entity}_", f"E_{_MAIN}_"
        reader = FieldReader()
        date_key = own + layout.date if layout.date else None
        return cls(
            invoice_id=invoice_id,
            object_id=object_id,
            # The type's own keys first; the shared VAT keys only when the type has none.
            code=reader.read("code", lambda: _own_or_main(raw, own, layout.codes, "发票代码")),
            number=reader.read(
                "number", lambda: _own_or_main(raw, own, layout.numbers, "发票号码")
            ),
            issued_ms=reader.read("issued", lambda: _epoch_ms(raw, date_key) if date_key else None),
            category=reader.read("category", lambda: _text(raw, main + "发票类别")),
            seller=reader.read("seller", lambda: _text(raw, own + "销售方名称")),
            buyer=reader.read("buyer", lambda: _text(raw, own + "购买方名称")),
            verified=reader.read("verified", lambda: _flag(raw, main + "验真")),
            total=reader.read("total", lambda: parse_money(raw.get(own + layout.amount))),
            report=reader.read("report", lambda: ReportInfo.from_master(raw)),
            seller_tax_id=reader.read(
                "seller_tax_id",
                lambda: _first_text(raw, (own + "销售方纳税人识别号", own + "销售方税号")),
            ),
            buyer_tax_id=reader.read(
                "buyer_tax_id",
                lambda: _first_text(raw, (own + "购买方纳税人识别号", own + "购买方税号")),
            ),
            remarks=reader.read("remarks", lambda: _text(raw, own + "备注")),
            unreadable=tuple(reader.unreadable),
        )


def _own_or_main(
    raw: Mapping[str, Any], own: str, keys: tuple[str, ...], main_key: str
) -> str | None:
    return _first_text(raw, tuple(own + k for k in keys)) or _text(raw, f"E_{_MAIN}_{main_key}")


class ReportInvoiceRef(BaseModel):
    """One invoice on a report: its id, its line-item ids and its §5 objectId."""

    model_config = ConfigDict(frozen=True)

    invoice_id: str
    item_ids: tuple[str, ...]
    invoice_type: str | None  # None before Ekuaibao 2.0.0 for medical/fiscal tickets

    @classmethod
    def from_api(cls, raw: Any) -> ReportInvoiceRef:
        if not isinstance(raw, dict):
            raise MalformedPayload("report invoice entry is not an object")
        invoice_id, items = raw.get("invoiceId"), raw.get("invoiceItemId")
        if not isinstance(invoice_id, str) or not invoice_id:
            raise MalformedPayload("report invoice entry without invoiceId")
        if items is None:
            items = []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise MalformedPayload("invoiceItemId is not a list of ids")
        return cls(
            invoice_id=invoice_id,
            item_ids=tuple(items),
            invoice_type=_text(raw, "invoiceType"),
        )


def parse_report_invoices(body: Any) -> dict[str, list[ReportInvoiceRef]]:
    """`{"value": {"<code-or-id>": [...]}}`; a report that was not found is simply absent."""
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(body, dict) or "value" not in body:
        raise MalformedPayload("flow search answer without value")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedPayload("flow search value is not an object")
    found: dict[str, list[ReportInvoiceRef]] = {}
    for key, entries in value.items():
        if not isinstance(entries, list):
            raise MalformedPayload("flow search entry is not a list")
        found[str(key)] = [ReportInvoiceRef.from_api(entry) for entry in entries]
    return found


__all__ = [
    "LAYOUTS",
    "InvoiceMaster",
    "ReportInfo",
    "ReportInvoiceRef",
    "parse_report_invoices",
]
