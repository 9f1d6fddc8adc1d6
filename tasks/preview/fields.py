"""What a data file (a fully digital invoice's XML, an OFD's invoice data) says, beside
what Ekuaibao's record says: the seller, 价税合计 and the number, with a warning for each
that differs. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from tasks.files import NUMBER, SELLER, TOTAL
from tasks.shared.blocks import money, neutral
from tasks.shared.preview_texts import PreviewTexts
from tasks.summary import InvoiceSummary


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def fields_text(
    fields: Mapping[str, str], invoice: InvoiceSummary, name: str, words: PreviewTexts
) -> str:
    """The file's fields, each beside Ekuaibao's own where they differ."""
    shown = {k: v for k, v in fields.items() if k in (SELLER, TOTAL, NUMBER) and v}
    if not shown:
        return words.no_fields.format(name=name)
    master = invoice.master
    rows = [words.fields_title.format(name=name)]
    warnings = []
    for key, label in (
        (SELLER, words.field_seller),
        (TOTAL, words.field_total),
        (NUMBER, words.field_number),
    ):
        value = shown.get(key)
        if value is None:
            continue
        amount = _amount(value) if key == TOTAL else None
        rows.append(f"{label}: {money(amount) if amount is not None else neutral(value, 200)}")
        ours = _ours(key, invoice)
        if master is None or ours is None:
            continue
        if key == TOTAL:
            differs = amount is None or abs(amount - Decimal(ours)) > Decimal("0.005")
        else:
            differs = value.strip() != ours.strip()
        if differs:
            file_side = money(amount) if amount is not None else neutral(value, 200)
            ekb_side = money(Decimal(ours)) if key == TOTAL else neutral(ours, 200)
            warnings.append(words.differs.format(field=label, file=file_side, ours=ekb_side))
    if master is None:
        warnings.append(words.no_record)
    return "\n".join([*rows, *warnings])


def _ours(key: str, invoice: InvoiceSummary) -> str | None:
    master = invoice.master
    if master is None:
        return None
    if key == SELLER:
        return master.seller
    if key == TOTAL:
        return None if master.total is None else str(master.total)
    return master.number
