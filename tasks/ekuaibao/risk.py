"""Ekuaibao's own risk flags on a report's invoices (`invoice/risk/label`), parsed.

Each tag is kept with the invoice it is about; the counts are Ekuaibao's. A tag or a count
that does not have the documented shape is skipped (or unknown), never the whole answer:
the flags are an addition to a reply, and one odd entry must not cost the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The documented tag type for 存在疑似发票重复; others exist and are shown by their name.
DUPLICATE = "INVOICE_REPEAT_VERIFICATION"
#: Longer names are clipped when shown; longer types are not a type.
MAX_TYPE = 80


@dataclass(frozen=True)
class RiskTag:
    invoice_id: str
    #: Ekuaibao's machine name (`INVOICE_REPEAT_VERIFICATION`); "" when it sent none.
    kind: str
    #: Ekuaibao's own words (`存在疑似发票重复`), raw: the renderer makes them safe.
    name: str


@dataclass(frozen=True)
class ReportRisk:
    """One report's tags, and how many of its invoices Ekuaibao counts as (non-)compliant."""

    flow_id: str
    tags: tuple[RiskTag, ...]
    invoice_total: int | None = None
    compliant: int | None = None
    non_compliant: int | None = None

    def tags_for(self, invoice_id: str) -> tuple[RiskTag, ...]:
        """The invoice's tags, each kind once (Ekuaibao repeats a tag per expense line)."""
        seen: dict[tuple[str, str], RiskTag] = {}
        for tag in self.tags:
            if tag.invoice_id == invoice_id:
                seen.setdefault((tag.kind, tag.name), tag)
        return tuple(seen.values())


def _count(raw: Any) -> int | None:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else None


def _tag(raw: Any) -> RiskTag | None:
    if not isinstance(raw, dict):
        return None
    invoice_id, kind, name = raw.get("invoiceId"), raw.get("type"), raw.get("tagName")
    if not isinstance(invoice_id, str) or not invoice_id:
        return None
    kind = kind.strip() if isinstance(kind, str) and len(kind) <= MAX_TYPE else ""
    name = name.strip() if isinstance(name, str) else ""
    if not kind and not name:
        return None
    return RiskTag(invoice_id, kind, name or kind)


def parse_risk_labels(body: Any) -> dict[str, ReportRisk]:
    """`{"items":[{flowId, details:[{riskTags:[…]}], invoiceTotal, …}]}` by flow id.

    Raises ValueError when the answer has no `items` list (the call then failed); an
    empty list means no tags (or no such report), which is not an error.
    """
    if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
        raise ValueError("risk labels answer without an items list")
    found: dict[str, ReportRisk] = {}
    for item in body.get("items") or []:
        if not isinstance(item, dict) or not isinstance(item.get("flowId"), str):
            continue
        details = item.get("details")
        tags: list[RiskTag] = []
        for detail in details if isinstance(details, list) else []:
            raw_tags = detail.get("riskTags") if isinstance(detail, dict) else None
            for raw in raw_tags if isinstance(raw_tags, list) else []:
                if (tag := _tag(raw)) is not None:
                    tags.append(tag)
        found[item["flowId"]] = ReportRisk(
            item["flowId"],
            tuple(tags),
            _count(item.get("invoiceTotal")),
            _count(item.get("compliance")),
            _count(item.get("noCompliance")),
        )
    return found


__all__ = ["DUPLICATE", "ReportRisk", "RiskTag", "parse_risk_labels"]
