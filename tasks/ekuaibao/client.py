"""The typed Ekuaibao client: the calls we make, each answer parsed into a model.

The token and the HTTP under every call are the `Session`'s (`tasks.ekuaibao.session`);
every HTTP outcome is mapped in one place (`tasks.ekuaibao.answers`).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from tasks.ekuaibao.errors import (
    BadRequest,
    BudgetSpent,
    CredentialsRejected,
    EkuaibaoError,
    RateLimited,
    Unavailable,
)
from tasks.ekuaibao.flows import (
    FlowParticipants,
    parse_approve_states,
    parse_flow_details,
    parse_staff_by_email,
    unique_emails,
)
from tasks.ekuaibao.json_answers import item_records
from tasks.ekuaibao.masters import InvoiceMaster, ReportInvoiceRef, parse_report_invoices
from tasks.ekuaibao.models import Attachment, LineItem, MalformedPayload
from tasks.ekuaibao.risk import ReportRisk, parse_risk_labels
from tasks.ekuaibao.session import Credentials, Session

T = TypeVar("T")

DETAIL_BATCH_PATH = "/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch"
INVOICE_URL_PATH = "/api/openapi/v2/extension/INVOICE/url"
#: §5 master search; `{object_id}` is a §5 objectId such as `invoice` or `taxi`.
MASTER_SEARCH_PATH = "/api/openapi/v2/extension/INVOICE/object/{object_id}/search"
#: §4 report (flow) code or id -> its invoice ids, item ids and types.
FLOW_INVOICE_SEARCH_PATH = "/api/openapi/v2/extension/flow/INVOICE/search"
#: §8 staff look-up: `{"type":"MAIL","conditionIds":[...]}`; active staff only.
STAFF_IDS_PATH = "/api/openapi/v1/staffs/getStaffIds"
#: §8 report details (GET, `flowId` in the query).
FLOW_DETAILS_PATH = "/api/openapi/v1.1/flowDetails"
#: §8 current approvers (GET); the ids go in the path inside brackets, sent as %5B…%5D
#: because raw `[`/`]` are not legal in a path and strict servers refuse them.
APPROVE_STATES_PATH = "/api/openapi/v2/approveStates/%5B{flow_ids}%5D"
#: Risk tags per report (GET), ids in brackets in the path like approveStates.
RISK_LABEL_PATH = "/api/openapi/v2/invoice/risk/label/%5B{flow_ids}%5D"
#: A flow id goes into the approveStates path: letters, digits, `_`, `-`, `$` only.
_FLOW_ID_RE = re.compile(r"[A-Za-z0-9_$-]+")
#: An objectId goes into the URL path, so it must be a plain identifier (no `/`, `..`).
_OBJECT_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: No batch maximum is documented; 100 per call is the documented advice.
BATCH_SIZE = 100


@dataclass(frozen=True)
class InvoiceData:
    """What one lookup fetched, with the time the links were signed."""

    lines: tuple[LineItem, ...]
    attachments: tuple[Attachment, ...]
    fetched_at: float


class EkuaibaoClient(Session):
    """The invoice, report and staff calls, each in batches of BATCH_SIZE."""

    def line_items(self, invoice_ids: Sequence[str]) -> list[LineItem]:
        items: list[LineItem] = []
        for chunk in _chunks(invoice_ids):
            body = self._call(DETAIL_BATCH_PATH, {"invoiceIds": list(chunk)}, item_records)
            for raw in _items(body):
                items.append(_parse(LineItem.from_api, raw))
        return items

    def attachments(
        self, invoice_ids: Sequence[str], fetched_at: float | None = None
    ) -> list[Attachment]:
        when = self._clock() if fetched_at is None else fetched_at
        found: list[Attachment] = []
        for chunk in _chunks(invoice_ids):
            body = self._call(INVOICE_URL_PATH, {"invoiceId": list(chunk)})
            for raw in _items(body):
                found.append(_parse(lambda r: Attachment.from_api(r, when), raw))
        return found

    def invoice_masters(self, object_id: str, invoice_ids: Sequence[str]) -> list[InvoiceMaster]:
        """Master records (§5) of one type; unknown ids are simply absent from the result.

        Ids are deduplicated and sent ≤100 per call. Raises ValueError for an objectId that
        is not a plain identifier (it becomes part of the URL path).
        """
        if not _OBJECT_ID_RE.fullmatch(object_id):
            raise ValueError(f"not an Ekuaibao objectId: {object_id!r}")
        path = MASTER_SEARCH_PATH.format(object_id=object_id)
        parse = functools.partial(InvoiceMaster.from_api, object_id)
        found: list[InvoiceMaster] = []
        for chunk in _chunks(list(dict.fromkeys(invoice_ids))):
            body = self._call(path, {"ids": list(chunk)}, item_records)
            found.extend(_parse(parse, raw) for raw in _items(body))
        return found

    def report_invoices(
        self, kind: Literal["code", "id"], values: Sequence[str]
    ) -> dict[str, list[ReportInvoiceRef]]:
        """Invoices on reports (§4), keyed by the code or id as passed; unknown keys are absent."""
        found: dict[str, list[ReportInvoiceRef]] = {}
        for chunk in _chunks(list(dict.fromkeys(values))):
            body = self._call(FLOW_INVOICE_SEARCH_PATH, {"type": kind, "codeOrIds": list(chunk)})
            found.update(_parse(parse_report_invoices, body))
        return found

    def staff_ids_by_email(self, emails: Sequence[str]) -> dict[str, str]:
        """Active staff by email (§8 getStaffIds, type MAIL): lower-cased email -> staff id.

        Emails are sent as given (deduplicated case-insensitively), ≤100 per call, and
        matched back case-insensitively. Unknown or inactive staff are simply absent.
        """
        found: dict[str, str] = {}
        for chunk in _chunks(unique_emails(emails)):
            body = self._call(STAFF_IDS_PATH, {"type": "MAIL", "conditionIds": list(chunk)})
            found.update(_parse(functools.partial(parse_staff_by_email, chunk), body))
        return found

    def flow_participants(self, flow_id: str) -> FlowParticipants:
        """Submitter and approvers of one report: its history (flowDetails) plus its
        current approvers (approveStates).

        Raises BadRequest with status 412 when the report does not exist or was deleted
        (an empty `value` is treated the same), and ValueError for a flow id that could
        not safely go into a URL path.
        """
        if not _FLOW_ID_RE.fullmatch(flow_id):
            raise ValueError(f"not an Ekuaibao flow id: {flow_id!r}")
        body = self._call_get(FLOW_DETAILS_PATH, {"flowId": flow_id})
        participants = _parse(functools.partial(parse_flow_details, flow_id), body)
        if participants is None:
            raise BadRequest(412, "单据不存在 (empty flowDetails answer)")
        states = self._call_get(APPROVE_STATES_PATH.format(flow_ids=flow_id), {})
        current = _parse(parse_approve_states, states).get(flow_id, frozenset())
        return dataclasses.replace(participants, approver_ids=participants.approver_ids | current)

    def risk_labels(self, flow_ids: Sequence[str]) -> dict[str, ReportRisk]:
        """Ekuaibao's risk tags on the reports' invoices; a report without any is absent.

        Raises ValueError for a flow id that could not safely go into a URL path.
        """
        unique = list(dict.fromkeys(flow_ids))
        for flow_id in unique:
            if not _FLOW_ID_RE.fullmatch(flow_id):
                raise ValueError(f"not an Ekuaibao flow id: {flow_id!r}")
        found: dict[str, ReportRisk] = {}
        for chunk in _chunks(unique):
            body = self._call_get(RISK_LABEL_PATH.format(flow_ids=",".join(chunk)), {})
            found.update(_parse(parse_risk_labels, body))
        return found


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + BATCH_SIZE] for i in range(0, len(ids), BATCH_SIZE)]


def _items(body: Any) -> list[Any]:
    """`{"items": [...]}`; an empty list is Ekuaibao's way of saying "not found"."""
    if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
        raise Unavailable("Ekuaibao's answer did not have the documented `items` list")
    items: list[Any] = body.get("items") or []
    return items


def _parse(parse: Callable[[Any], T], raw: Any) -> T:
    try:
        return parse(raw)
    except (MalformedPayload, ValueError, TypeError) as exc:
        raise Unavailable(f"Ekuaibao sent a malformed item: {exc}") from None


__all__ = [
    "BadRequest",
    "BudgetSpent",
    "Credentials",
    "CredentialsRejected",
    "EkuaibaoClient",
    "EkuaibaoError",
    "FlowParticipants",
    "InvoiceData",
    "RateLimited",
    "Unavailable",
]
