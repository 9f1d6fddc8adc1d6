"""A loopback stand-in for the Ekuaibao (合思) Open API, serving the sample payloads.

The demo and the integration tests need an Ekuaibao that behaves like the real one
where it hurts: tokens in the query string that expire, a flat line-item list in an
undocumented order, attachment links in a different order from the request, signed
one-hour URLs that really stop working, and HTML error pages from the gateway. All
data comes from ``sandbox/data/*.json`` (copies of the documented samples) so the
bot is exercised against the vendor's real shapes, not our idea of them.

Nothing here talks to anything but the socket it binds (127.0.0.1 by default).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import hmac
import importlib.resources
import json
import logging
import random
import re
import secrets
import socket
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import Message
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = [
    "APPROVER_EMAIL",
    "APPROVER_ID",
    "DEMO_INVOICE_IDS",
    "FORMER_EMAIL",
    "REPORT_CODE",
    "REPORT_ID",
    "STRANGER_EMAIL",
    "STRANGER_ID",
    "SUBMITTER_EMAIL",
    "SUBMITTER_ID",
    "Attachment",
    "EkuaibaoStandIn",
    "HttpRequest",
    "HttpResponse",
    "LoopbackServer",
    "RecordedCall",
    "SandboxInvoice",
    "SandboxWorld",
]

log = logging.getLogger(__name__)

DEMO_INVOICE_IDS: tuple[str, ...] = (
    "djg8LshfUkfM00:033002100311:23272058",
    "djg8LshfUkfM00:044031900111:69872971",
    "0aM9AbvdhI0400:011001900111:07517347",
    "ID01xO4jZjprrx",
    "Tdk3tgber501v0::23312000000123878916:2",
    "djg8LshfUkfM00:044031900111:00000000",
)
"""What ``invoicebot demo`` looks up: lines with a discount, a ``$`` line id, a
string ``standardScale``, a Chinese image name, an XML attachment, and one miss."""

REPORT_CODE = "B23001249"
REPORT_ID = "ID01vmXWPHarK6"
"""The sandbox report: its code and flow id both resolve to the sandbox invoices."""

# The sandbox staff directory (getStaffIds). The submitter's email is the Slack
# stand-in's default user's, so that user is the report's submitter in ekuaibao mode.
SUBMITTER_ID = "djg8LshfUkfM00:ID01ojZ2n2e0PR"
SUBMITTER_EMAIL = "sandbox.user@example.com"
APPROVER_ID = "djg8LshfUkfM00:ID01pZ8kQaPrVr"
APPROVER_EMAIL = "approver@example.com"
STRANGER_ID = "djg8LshfUkfM00:ID01qX3mStRnGr"
STRANGER_EMAIL = "stranger@example.com"
FORMER_EMAIL = "former@example.com"
"""An inactive (停用) staff member: getStaffIds never returns them."""
APPROVAL_STAGE = "部门经理审批"

URL_TTL_S = 3600
REFRESHED_TOKEN_TTL_S = 32 * 86400

AUTH_PATH = "/api/openapi/v1/auth/getAccessToken"
REFRESH_PATH = "/api/openapi/v2/auth/refreshToken"
REFRESH_DAYS_PATH = "/api/openapi/v2/auth/refreshToken/expireDate"
LOCATION_PATH = "/api/openapi/v2/location"
DETAIL_BATCH_PATH = "/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch"
URL_PATH = "/api/openapi/v2/extension/INVOICE/url"
FLOW_SEARCH_PATH = "/api/openapi/v2/extension/flow/INVOICE/search"
STAFF_IDS_PATH = "/api/openapi/v1/staffs/getStaffIds"
FLOW_DETAILS_PATH = "/api/openapi/v1.1/flowDetails"
_APPROVE_STATES_RE = re.compile(r"^/api/openapi/v2/approveStates/(.*)$")
_RISK_LABEL_RE = re.compile(r"^/api/openapi/v2/invoice/risk/label/(.*)$")
_STAFF_FIELDS: Mapping[str, str] = {
    "STAFFID": "id",
    "MAIL": "email",
    "CODE": "code",
    "CELLPHONE": "cellphone",
    "USERID": "userId",
}
_SINGLE_DETAIL_RE = re.compile(r"^/api/openapi/v2/extension/INVOICE/object/invoice/(.+)/detail$")
_MASTER_SEARCH_RE = re.compile(r"^/api/openapi/v2/extension/INVOICE/object/([^/]+)/search$")
_PCT_RUN_RE = re.compile(r"(?:%[0-9A-Fa-f]{2})+")

OBJECT_ENTITIES: Mapping[str, str] = {
    "invoice": "system_发票主体",
    "other": "system_其他",
    "taxi": "system_出租车票",
    "fixed": "system_定额发票",
    "passengerCar": "system_客运汽车发票",
    "machinePrint": "system_机打发票",
    "shopping": "system_消费小票",
    "train": "system_火车票",
    "flightItinerary": "system_航空运输电子客票行程单",
    "tolls": "system_过路费发票",
    "medical": "system_医疗发票",
    "noTaxIncome": "system_非税收入类票据",
}

AttachmentKind = Literal["image", "pdf", "ofd", "xml"]

_KIND_BY_SUFFIX: Mapping[str, AttachmentKind] = {
    "png": "image",
    "jpg": "image",
    "jpeg": "image",
    "pdf": "pdf",
    "ofd": "ofd",
    "xml": "xml",
}

# Tiny but well-formed files, so a client that sniffs or opens them doesn't choke.
_PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
_JPEG_1PX = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP////////////////////////////////////////////////////"
    "//////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgB"
    "AQABPxA="
)
_PDF_STUB = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
_OFD_STUB = b"PK\x05\x06" + b"\x00" * 18  # an empty zip: OFD is a zip container
_XML_STUB = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<EInvoice><Note>sandbox placeholder</Note></EInvoice>\n"
)


# --------------------------------------------------------------------------------------
# A small loopback HTTP server, shared with sandbox/slack.py
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    """One request as the stand-ins see it: raw path kept, because signatures cover it."""

    method: str
    raw_path: str  # path as sent, still percent-encoded, without the query
    path: str  # percent-decoded path
    query: dict[str, str]  # last value wins
    headers: Message
    body: bytes
    #: When the whole request had arrived, by the server's clock: what a stand-in records as
    #: "arrived", before its own checks of the body (they are not the sender's time).
    received_at: float | None = None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, data, "application/json;charset=UTF-8", headers or {})

    @classmethod
    def text(
        cls, status: int, text: str, content_type: str = "text/plain;charset=UTF-8"
    ) -> HttpResponse:
        return cls(status, text.encode(), content_type)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        app: Callable[[HttpRequest], HttpResponse],
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.clock = clock
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Close keep-alive sockets, so a stopped stand-in really stops answering."""
        with self._open_lock:
            sockets = list(self._open)
            self._open.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out on a stalled call hang up mid-reply; that is expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _QuietServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: avoid 40 ms stalls
    server_version = "sandbox"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header follows the stand-in's clock, so a test can skew it."""
        return formatdate(self.server.clock() if timestamp is None else timestamp, usegmt=True)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        received_at = self.server.clock()
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        request = HttpRequest(
            method=self.command,
            raw_path=parts.path,
            path=unquote(parts.path),
            query=query,
            headers=self.headers,
            body=body,
            received_at=received_at,
        )
        try:
            response = self.server.app(request)
        except Exception as exc:  # a stand-in bug must show up as a loud 500, not a hang
            log.exception("sandbox handler failed for %s %s", self.command, parts.path)
            response = HttpResponse.text(500, f"sandbox error: {exc!r}")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_PATCH = _serve


class LoopbackServer:
    """Runs an ``HttpRequest -> HttpResponse`` function on a daemon-thread HTTP server."""

    def __init__(
        self,
        host: str,
        port: int,
        app: Callable[[HttpRequest], HttpResponse],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._host = host
        self._port = port
        self._app = app
        self._clock = clock
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("server not started: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, name: str) -> None:
        if self._server is not None:
            return
        self._server = _QuietServer((self._host, self._port), self._app, self._clock)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)


# --------------------------------------------------------------------------------------
# The sandbox world
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    file_name: str  # decoded, as in the API's ``fileName``
    kind: AttachmentKind
    region: tuple[float, ...]


@dataclass(frozen=True)
class SandboxInvoice:
    invoice_id: str
    lines: tuple[dict[str, Any], ...] = ()
    object_id: str | None = None  # the master's type (``invoice``, ``taxi``, …)
    master: dict[str, Any] | None = None
    attachment: Attachment | None = None


def decode_file_name(name: str) -> str:
    """Decode only runs of ``%XX`` that form valid UTF-8; samples mix encoded and raw ``%%``."""

    def repl(match: re.Match[str]) -> str:
        try:
            return bytes.fromhex(match.group(0).replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            return match.group(0)

    return _PCT_RUN_RE.sub(repl, name)


def _kind_of(file_name: str) -> AttachmentKind:
    suffix = file_name.rsplit(".", 1)[-1].lower()
    return _KIND_BY_SUFFIX.get(suffix, "pdf")


def _read_sample(name: str) -> Any:
    return json.loads(
        importlib.resources.files("sandbox").joinpath("data", name).read_text("utf-8")
    )


def money(amount: Decimal) -> dict[str, Any]:
    """An amount as Ekuaibao writes one: yuan, two decimals, with its unit and codes."""
    return {
        "standard": f"{amount:.2f}",
        "standardUnit": "元",
        "standardScale": 2,
        "standardSymbol": "¥",
        "standardNumCode": "156",
        "standardStrCode": "CNY",
    }


_LINE = "E_system_发票明细_"
_MAIN = "E_system_发票主体_"
_SYNTH_REGION = (0.0, 0.0, 2000.0, 1338.0)
# The samples' noTaxIncome name already has `&` and `%%`; `<`/`>` are added so every
# character Slack mrkdwn needs escaped is present in at least one file name.
SPECIAL_FILE_NAME = "发票&<特殊>%%-￥（士大夫『2』【还好】）23咖啡壶特殊字符-1693994644037-477.pdf"

# Made-up parties for the synthesized masters of the invoices that have lines.
_SYNTH_PARTIES: Mapping[str, tuple[str, str, int, str]] = {
    # invoice id: (seller, seller tax id, invoice date ms, category)
    "djg8LshfUkfM00:033002100311:23272058": (
        "杭州沙盒鞋业有限公司",
        "91330100MA2SANDB01",
        1638288000000,
        "DIGITAL_NORMAL",
    ),
    "djg8LshfUkfM00:044031900111:69872971": (
        "深圳沙盒通信设备有限公司",
        "91440300MA5SANDB02",
        1609430400000,
        "DIGITAL_SPECIAL",
    ),
    "0aM9AbvdhI0400:011001900111:07517347": (
        "北京沙盒餐饮管理有限公司",
        "91110105MA0SANDB03",
        1581436800000,
        "PAPER_NORMAL",
    ),
}


class SandboxWorld:
    """Every invoice the stand-in knows, with its lines, master record and attachment.

    Built once from the samples so that all endpoints agree: an id that has lines also
    has a master of type ``invoice`` whose 价税合计 equals Σ金额 + Σ税额, belongs to the
    sandbox report, and has a downloadable attachment.
    """

    def __init__(
        self,
        invoices: Mapping[str, SandboxInvoice],
        reports_by_code: Mapping[str, list[dict[str, Any]]],
        reports_by_id: Mapping[str, list[dict[str, Any]]],
        *,
        staff: list[dict[str, Any]] | None = None,
        flows: Mapping[str, dict[str, Any]] | None = None,
        approve_states: Mapping[str, dict[str, Any]] | None = None,
        risk_labels: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        self.invoices: dict[str, SandboxInvoice] = dict(invoices)
        self.reports_by_code = dict(reports_by_code)
        self.reports_by_id = dict(reports_by_id)
        #: getStaffIds directory, inactive members included (they are never returned).
        self.staff: list[dict[str, Any]] = list(staff) if staff is not None else sandbox_staff()
        #: flowDetails `value` per flow id; approveStates item per flow id.
        self.flows: dict[str, dict[str, Any]] = dict(flows or {})
        self.approve_states: dict[str, dict[str, Any]] = dict(approve_states or {})
        #: A file's bytes by its name, where a test wants its own (a hostile file); the
        #: others are served as the sample of their kind.
        self.file_bytes: dict[str, bytes] = {}
        #: invoice/risk/label item per flow id (reports without tags are absent).
        self.risk_labels: dict[str, dict[str, Any]] = dict(risk_labels or {})
        self.by_file_name: dict[str, Attachment] = {
            inv.attachment.file_name: inv.attachment
            for inv in self.invoices.values()
            if inv.attachment is not None
        }

    @classmethod
    def load(cls) -> SandboxWorld:
        lines: dict[str, list[dict[str, Any]]] = {}
        for sample in ("detail-batch.response.json", "invoice-detail.response.json"):
            for item in _read_sample(sample)["items"]:
                lines.setdefault(item["masterId"], []).append(item)

        attachments: dict[str, Attachment] = {}
        for item in _read_sample("invoice-url.response.json")["items"]:
            name = item["fileName"]
            attachments[item["id"]] = Attachment(name, _kind_of(name), tuple(item["region"]))

        masters: dict[str, tuple[str, dict[str, Any]]] = {}
        for object_id, item in _read_sample("invoice-master.by-type.json").items():
            masters[item["id"]] = (object_id, item)
        for item in _read_sample("invoice-master.response.json")["items"]:
            masters[item["id"]] = ("invoice", item)  # the full version, `entity` included

        report_master = masters[next(i for i, (t, _) in masters.items() if t == "invoice")][1]
        report_flow = {"flowId": report_master["flowId"], "flowForm": report_master["flowForm"]}

        # Master records for the invoices with lines, consistent with their lines.
        for invoice_id, invoice_lines in lines.items():
            masters[invoice_id] = (
                "invoice",
                synth_master(invoice_id, invoice_lines, report_master),
            )
            attachments.setdefault(
                invoice_id,
                Attachment(f"发票-{invoice_id.rsplit(':', 1)[-1]}.pdf", "pdf", _SYNTH_REGION),
            )

        # The taxi ticket moves to the sandbox report so the report mixes ticket types.
        taxi_id = next(i for i, (t, _) in masters.items() if t == "taxi")
        masters[taxi_id] = ("taxi", {**masters[taxi_id][1], **copy.deepcopy(report_flow)})

        # One name with every character Slack mrkdwn needs escaped.
        fiscal_id = next(i for i, (t, _) in masters.items() if t == "noTaxIncome")
        masters[fiscal_id] = (
            "noTaxIncome",
            {**masters[fiscal_id][1], f"{_MAIN}图片": SPECIAL_FILE_NAME},
        )

        for invoice_id, (_, master) in masters.items():
            picture = master.get(f"{_MAIN}图片")
            if invoice_id in attachments or not isinstance(picture, str) or not picture:
                continue
            name = decode_file_name(picture)
            region = tuple(float(x) for x in master.get(f"{_MAIN}识别范围") or _SYNTH_REGION)
            attachments[invoice_id] = Attachment(name, _kind_of(name), region)

        order: list[str] = []
        for invoice_id in [*lines, *attachments, *masters]:
            if invoice_id not in order:
                order.append(invoice_id)
        invoices = {
            invoice_id: SandboxInvoice(
                invoice_id=invoice_id,
                lines=tuple(lines.get(invoice_id, ())),
                object_id=masters[invoice_id][0] if invoice_id in masters else None,
                master=masters[invoice_id][1] if invoice_id in masters else None,
                attachment=attachments.get(invoice_id),
            )
            for invoice_id in order
        }

        # Each master names its report (flowId, flowForm.code): derive the report index
        # from that, so flow search and master search can never disagree.
        by_code: dict[str, list[dict[str, Any]]] = {}
        by_id: dict[str, list[dict[str, Any]]] = {}
        for inv in invoices.values():
            if inv.master is None or not inv.master.get("flowId"):
                continue
            entry = {
                "invoiceId": inv.invoice_id,
                "invoiceItemId": [line["id"] for line in inv.lines],
                "invoiceType": inv.object_id,
            }
            by_id.setdefault(inv.master["flowId"], []).append(entry)
            code = (inv.master.get("flowForm") or {}).get("code")
            if code:
                by_code.setdefault(code, []).append(entry)
        # The documented example (looked up with type "id"); its invoices are not in the world.
        for key, entries in _read_sample("flow-invoice-search.response.json")["value"].items():
            by_id.setdefault(key, entries)

        # flowDetails: the sandbox report, built from the documented sample with the
        # sandbox submitter and approver; and the sample itself (a rejected report).
        sample_flow = _read_sample("flow-details.response.json")["value"]
        report_invoices = [invoices[e["invoiceId"]] for e in by_id.get(report_master["flowId"], [])]
        flows = {
            report_master["flowId"]: _sandbox_flow(sample_flow, report_flow, report_invoices),
            sample_flow["id"]: copy.deepcopy(sample_flow),
        }
        approve_states = {
            report_master["flowId"]: {
                "flowId": report_master["flowId"],
                "stageName": APPROVAL_STAGE,
                "operators": [{"id": APPROVER_ID, "name": "沙盒审批人", "code": "1002"}],
                "delegateData": [],
            },
            sample_flow["id"]: {
                "flowId": sample_flow["id"],
                "stageName": "拒绝",
                "operators": [],
                "delegateData": [],
            },
        }
        # Risk labels: the documented example, and the sandbox report's first VAT invoice
        # flagged as a suspected duplicate (so the demo and the tests show a flag).
        risk_labels = {
            item["flowId"]: item for item in _read_sample("risk-label.response.json")["items"]
        }
        sandbox_report = by_id.get(report_master["flowId"], [])
        flagged = next(
            (e["invoiceId"] for e in sandbox_report if e["invoiceType"] == "invoice"), None
        )
        if flagged is not None:
            risk_labels[report_master["flowId"]] = risk_label(
                report_master["flowId"],
                len(sandbox_report),
                {flagged: [("存在疑似发票重复", "INVOICE_REPEAT_VERIFICATION")]},
            )
        return cls(
            invoices,
            by_code,
            by_id,
            flows=flows,
            approve_states=approve_states,
            risk_labels=risk_labels,
        )

    def ids(self) -> list[str]:
        return list(self.invoices)

    def lines_of(self, invoice_id: str) -> tuple[dict[str, Any], ...]:
        inv = self.invoices.get(invoice_id)
        return inv.lines if inv is not None else ()

    def masters_of(self, object_id: str) -> list[dict[str, Any]]:
        return [
            inv.master
            for inv in self.invoices.values()
            if inv.master is not None and inv.object_id == object_id
        ]


def risk_label(
    flow_id: str, invoice_total: int, tags: Mapping[str, list[tuple[str, str]]]
) -> dict[str, Any]:
    """One report's `invoice/risk/label` item: one expense line per flagged invoice, with
    its (tagName, type) pairs; the counts as Ekuaibao gives them."""
    details = [
        {
            "detailId": f"detail-{n}",
            "riskTags": [
                {"tagName": name, "type": kind, "invoiceId": invoice_id} for name, kind in pairs
            ],
            "invoiceTotal": 1,
            "noCompliance": 1,
            "compliance": 0,
        }
        for n, (invoice_id, pairs) in enumerate(tags.items())
    ]
    return {
        "flowId": flow_id,
        "details": details,
        "invoiceTotal": invoice_total,
        "noCompliance": len(tags),
        "compliance": invoice_total - len(tags),
    }


def sandbox_staff() -> list[dict[str, Any]]:
    """The staff directory, shaped like getStaffIds items (docs: corporation/get-staff-ids)."""

    def member(staff_id: str, name: str, code: str, email: str, active: bool) -> dict[str, Any]:
        return {
            "id": staff_id,
            "name": name,
            "code": code,
            "departments": ["djg8LshfUkfM00"],
            "defaultDepartment": "djg8LshfUkfM00",
            "cellphone": "",
            "active": active,
            "userId": "",
            "email": email,
            "external": False,
        }

    return [
        member(SUBMITTER_ID, "沙盒用户", "1001", SUBMITTER_EMAIL, True),
        member(APPROVER_ID, "沙盒审批人", "1002", APPROVER_EMAIL, True),
        member(STRANGER_ID, "无关员工", "1003", STRANGER_EMAIL, True),
        member("djg8LshfUkfM00:ID01rF0rmErSt", "已停用员工", "1004", FORMER_EMAIL, False),
    ]


def _invoice_amount(inv: SandboxInvoice) -> dict[str, Any]:
    master = inv.master or {}
    entity = OBJECT_ENTITIES.get(inv.object_id or "", "")
    for key in (f"E_{entity}_价税合计", f"E_{entity}_金额", f"E_{entity}_金额合计"):
        if isinstance(master.get(key), dict):
            return copy.deepcopy(master[key])
    return money(Decimal(0))


def _sandbox_flow(
    sample: Mapping[str, Any],
    report_flow: Mapping[str, Any],
    invoices: list[SandboxInvoice],
) -> dict[str, Any]:
    """The sandbox report's flowDetails value: submitted by SUBMITTER_ID, now waiting
    for APPROVER_ID (as the submit log's nextOperatorId and in approveStates)."""
    form_in = report_flow["flowForm"]
    detail_template = sample["form"]["details"][0]
    details = []
    for n, inv in enumerate(invoices, start=1):
        detail = copy.deepcopy(detail_template)
        fee = detail["feeTypeForm"]
        fee["amount"] = _invoice_amount(inv)
        fee["detailId"] = f"SANDBOXDETAIL{n:02d}"
        fee["invoiceForm"] = {
            "type": "exist",
            "invoices": [
                {
                    "itemIds": [line["id"] for line in inv.lines],
                    "invoiceId": inv.invoice_id,
                    "taxAmount": money(Decimal(0)),
                }
            ],
            "invoiceConfirm": "true",
        }
        details.append(detail)
    submitted = form_in["submitDate"]
    submit_log = copy.deepcopy(sample["logs"][0])
    submit_log.update(
        {
            "action": "freeflow.submit",
            "state": "approving",
            "operatorId": SUBMITTER_ID,
            "nextOperatorId": APPROVER_ID,
            "nextOperatorIds": [],
            "time": submitted + 400,
        }
    )
    submit_log["attributes"]["nextName"] = APPROVAL_STAGE
    submit_log["modifyFlowLog"][0]["operatorId"] = SUBMITTER_ID
    submit_log["modifyFlowLog"][0]["operatorTime"] = submitted + 400
    value = copy.deepcopy(dict(sample))
    value["form"] = {
        **copy.deepcopy(sample["form"]),
        "code": form_in["code"],
        "title": form_in["title"],
        "details": details,
        "payMoney": copy.deepcopy(form_in["payMoney"]),
        "expenseMoney": copy.deepcopy(form_in["expenseMoney"]),
        "submitDate": submitted,
        "expenseDate": form_in["expenseDate"],
        "submitterId": SUBMITTER_ID,
        "specificationId": form_in["specificationId"],
    }
    value.update(
        {
            "id": report_flow["flowId"],
            "createTime": submitted - 60_000,
            "updateTime": form_in.get("preNodeApprovedTime", submitted + 4_000),
            "ownerId": SUBMITTER_ID,
            "state": form_in.get("state", "approving"),
            "logs": [submit_log],
            "actions": {APPROVER_ID: ["freeflow.agree", "freeflow.reject", "freeflow.comment"]},
        }
    )
    return value


def synth_master(
    invoice_id: str, lines: list[dict[str, Any]], template: Mapping[str, Any]
) -> dict[str, Any]:
    _, code, number = invoice_id.split(":")
    amount = sum((Decimal(str(line[f"{_LINE}金额"]["standard"])) for line in lines), Decimal(0))
    tax = sum((Decimal(str(line[f"{_LINE}税额"]["standard"])) for line in lines), Decimal(0))
    seller, seller_tax_id, date_ms, category = _SYNTH_PARTIES.get(
        invoice_id, ("沙盒供应商有限公司", "91000000MA0SANDB00", 1700000000000, "DIGITAL_NORMAL")
    )
    master = {k: copy.deepcopy(v) for k, v in template.items() if k != "entity"}
    master.update(
        {
            "id": invoice_id,
            "E_税额": money(Decimal(0)),
            "E_是否抵扣": False,
            "E_不计税金额": money(amount + tax),
            f"{_MAIN}code": code,
            f"{_MAIN}name": number,
            f"{_MAIN}发票代码": code,
            f"{_MAIN}发票号码": number,
            f"{_MAIN}发票日期": date_ms,
            f"{_MAIN}发票类别": category,
            f"{_MAIN}价税合计": money(amount + tax),
            f"{_MAIN}发票金额": money(amount),
            f"{_MAIN}税额": money(tax),
            f"{_MAIN}销售方名称": seller,
            f"{_MAIN}销售方纳税人识别号": seller_tax_id,
            f"{_MAIN}销售方地址电话": "",
            f"{_MAIN}销售方开户行及账号": "",
            f"{_MAIN}备注": "",
            f"{_MAIN}图片": f"发票-{number}.pdf",
            f"{_MAIN}识别范围": list(_SYNTH_REGION),
        }
    )
    return master


def _master_code_number(master: Mapping[str, Any], object_id: str) -> tuple[str, str]:
    entity = OBJECT_ENTITIES.get(object_id, "")
    code = number = ""
    for prefix in (f"E_{entity}_", _MAIN):
        code = code or str(master.get(f"{prefix}发票代码") or master.get(f"{prefix}票据代码") or "")
        number = number or str(
            master.get(f"{prefix}发票号码")
            or master.get(f"{prefix}票据号码")
            or master.get(f"{prefix}号码")
            or ""
        )
    return code, number


# --------------------------------------------------------------------------------------
# The stand-in
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedCall:
    method: str
    path: str  # as sent (percent-encoded), without the query
    query: dict[str, str]
    body: Any  # parsed JSON, or None (no body or not JSON)
    status: int
    at: float  # stand-in clock at arrival


@dataclass
class _FailRule:
    remaining: int
    status: int
    body: str
    paths: str | None


@dataclass
class _Token:
    refresh_token: str
    expires_at: float  # stand-in clock, seconds


class _BadRequest(Exception):
    """Ends a call with the legacy error JSON; Ekuaibao's 400/412 bodies look like this."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> HttpResponse:
        return HttpResponse.json(
            self.status,
            {
                "errorCode": self.status,
                "errorMessage": self.message,
                "errorDetails": None,
                "code": None,
                "data": None,
            },
        )


_NO_BODY = object()
_ALNUM = string.ascii_letters + string.digits


def _random_chars(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


class EkuaibaoStandIn:
    """Ekuaibao Open API on loopback, with fault knobs for the failure paths.

    Thread-safe: the bot's workers may call it concurrently while a test flips knobs.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app_key: str = "sandbox-app-key",
        app_security: str = "sandbox-app-security",
        corp_id: str = "djg8LshfUkfM00",
        token_ttl_s: float = 7200.0,
        clock: Callable[[], float] = time.time,
        world: SandboxWorld | None = None,
    ) -> None:
        self.app_key = app_key
        self.app_security = app_security
        self.corp_id = corp_id
        self.token_ttl_s = token_ttl_s
        self.clock = clock
        self.world = world if world is not None else SandboxWorld.load()
        self.delay_s: float = 0.0
        #: What §1 `location` answers as the tenant's platform; None = this stand-in itself.
        #: Set it to another host to play a tenant that lives on another platform.
        self.platform_url: str | None = None
        self.tokens_issued = 0
        self.tokens_refreshed = 0
        self._server = LoopbackServer(host, port, self._handle)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._secret = secrets.token_bytes(20)
        self._tokens: dict[str, _Token] = {}
        self._fail_rules: list[_FailRule] = []
        self._fail_fraction, self._flake_status = 0.0, 502
        self._flakes = random.Random()
        self.flaked = 0  # calls failed by fail_fraction
        self._stalls: list[float] = []
        self._reject_credentials = False
        self._slots: list[RecordedCall | None] = []
        self._signed_urls: list[str] = []
        from sandbox.ekuaibao_approver import ReviewEndpoints  # it builds on this module

        #: The approver endpoints (queues, names, deep links) and the outbound sender.
        self.approver = ReviewEndpoints(self)
        from sandbox.approvals import ApprovalEndpoints

        #: Approving, rejecting and commenting (backlog/data, its result, charge powers).
        self.approvals = ApprovalEndpoints(self)

    # lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, no trailing slash; valid after start()."""
        return self._server.base_url

    def start(self) -> EkuaibaoStandIn:
        self._stopping.clear()
        self._server.start("ekuaibao-stand-in")
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes stalled calls so shutdown is quick
        self._server.stop()

    def __enter__(self) -> EkuaibaoStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # fault knobs -----------------------------------------------------------------------

    def fail_next(
        self,
        n: int,
        status: int = 500,
        body: str = "<html><body>502 Bad Gateway</body></html>",
        paths: str | None = None,
    ) -> None:
        """The next n non-auth calls (only those whose path contains ``paths``, if given,
        which may also target ``/files/``) answer ``status`` with an HTML body."""
        with self._lock:
            self._fail_rules.append(_FailRule(n, status, body, paths))

    def fail_fraction(self, fraction: float, status: int = 502, seed: int | None = None) -> None:
        """From now on each non-auth ``/api/`` call fails with ``status`` (an HTML body)
        with probability ``fraction``, at random: a flaky Ekuaibao."""
        with self._lock:
            self._fail_fraction, self._flake_status = fraction, status
            self._flakes.seed(seed)

    def stall_next(self, n: int, seconds: float) -> None:
        """The next n ``/api/`` calls (auth included) sleep before being handled."""
        with self._lock:
            self._stalls.extend([seconds] * n)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working, as after a tenant-side revocation."""
        with self._lock:
            self._tokens.clear()

    def reject_credentials(self, flag: bool = True) -> None:
        with self._lock:
            self._reject_credentials = flag

    def reset_faults(self) -> None:
        """Back to a healthy Ekuaibao: no pending failures, stalls, delay or rejection."""
        with self._lock:
            self._fail_rules.clear()
            self._fail_fraction = 0.0
            self._stalls.clear()
            self._reject_credentials = False
        self.delay_s = 0.0
        self.platform_url = None

    # observations ----------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        """Finished requests in arrival order (a call still stalled is not listed yet)."""
        with self._lock:
            return [c for c in self._slots if c is not None]

    @property
    def arrivals(self) -> int:
        """Requests received so far, finished or still being answered."""
        with self._lock:
            return len(self._slots)

    def calls_to(self, path_fragment: str) -> list[RecordedCall]:
        return [c for c in self.calls if path_fragment in c.path]

    def known_invoice_ids(self) -> list[str]:
        return self.world.ids()

    def signed_urls_served(self) -> list[str]:
        with self._lock:
            return list(self._signed_urls)

    # request handling ------------------------------------------------------------------

    def _handle(self, req: HttpRequest) -> HttpResponse:
        arrived = self.clock()
        with self._lock:
            slot = len(self._slots)
            self._slots.append(None)
        body: Any = None
        response = HttpResponse.text(500, "sandbox error")
        try:
            body = _parse_json(req.body)
            response = self._dispatch(req, body)
        finally:
            call = RecordedCall(
                method=req.method,
                path=req.raw_path,
                query=dict(req.query),
                body=None if body is _NO_BODY else body,
                status=response.status,
                at=arrived,
            )
            with self._lock:
                self._slots[slot] = call
        return response

    def _dispatch(self, req: HttpRequest, body: Any) -> HttpResponse:
        path = req.path
        is_api = path.startswith("/api/")
        is_auth = path.startswith("/api/openapi/v1/auth/") or path.startswith(
            "/api/openapi/v2/auth/"
        )
        if is_api:
            with self._lock:
                stall = self._stalls.pop(0) if self._stalls else 0.0
            wait = stall + max(self.delay_s, 0.0)
            if wait > 0:
                self._stopping.wait(wait)
        if not is_auth:
            fault = self._take_fault(path, is_api)
            if fault is not None:
                return fault

        if path == AUTH_PATH:
            return self._require("POST", req) or self._get_access_token(body)
        if path in (REFRESH_PATH, REFRESH_DAYS_PATH):
            return self._require("POST", req) or self._refresh(req)
        if path == LOCATION_PATH:
            platform = self.platform_url or self.base_url
            return self._require("GET", req) or HttpResponse.json(
                200, {"value": platform.rstrip("/") + "/"}
            )
        if path.startswith("/files/"):
            return self._require("GET", req) or self._file(req)
        if path == "/applet/thirdparty.html":
            return self._require("GET", req) or self.approver.open_link(req)

        if (decide := self.approvals.route(req.method, path)) is not None:
            if not self._token_valid(req.query.get("accessToken")):
                return HttpResponse.text(403, "未授权")
            if body is _NO_BODY:
                return _BadRequest("请求体不是合法的JSON").response()
            return decide(req, body)  # type: ignore[no-any-return]

        get_handler = self._api_get_route(path)
        if get_handler is not None:
            wrong_method = self._require("GET", req)
            if wrong_method is not None:
                return wrong_method
            if not self._token_valid(req.query.get("accessToken")):
                return HttpResponse.text(403, "未授权")
            try:
                return get_handler(req)
            except _BadRequest as exc:
                return exc.response()

        handler = self._api_route(path)
        if handler is None:
            return HttpResponse.text(404, "Not Found")
        wrong_method = self._require("POST", req)
        if wrong_method is not None:
            return wrong_method
        if not self._token_valid(req.query.get("accessToken")):
            return HttpResponse.text(403, "未授权")
        if body is _NO_BODY:
            return _BadRequest("请求体不是合法的JSON").response()
        try:
            return handler(body)
        except _BadRequest as exc:
            return exc.response()

    def _api_route(self, path: str) -> Callable[[Any], HttpResponse] | None:
        if (review := self.approver.post_route(path)) is not None:
            return review
        if path == DETAIL_BATCH_PATH:
            return self._detail_batch
        if path == URL_PATH:
            return self._urls
        if path == FLOW_SEARCH_PATH:
            return self._flow_search
        if path == STAFF_IDS_PATH:
            return self._staff_ids
        if m := _SINGLE_DETAIL_RE.match(path):
            invoice_id = m.group(1)
            return lambda _body: HttpResponse.json(
                200, {"items": list(self.world.lines_of(invoice_id))}
            )
        if m := _MASTER_SEARCH_RE.match(path):
            object_id = m.group(1)
            return lambda body: self._master_search(object_id, body)
        return None

    def _api_get_route(self, path: str) -> Callable[[HttpRequest], HttpResponse] | None:
        if (review := self.approver.get_route(path)) is not None:
            return review
        if path == FLOW_DETAILS_PATH:
            return self._flow_details
        if m := _APPROVE_STATES_RE.match(path):
            ids = m.group(1)
            return lambda _req: self._approve_states(ids)
        if m := _RISK_LABEL_RE.match(path):
            ids = m.group(1)
            return lambda _req: self._risk_labels(ids)
        return None

    @staticmethod
    def _require(method: str, req: HttpRequest) -> HttpResponse | None:
        if req.method != method:
            return HttpResponse.text(405, "Method Not Allowed")
        return None

    def _take_fault(self, path: str, is_api: bool) -> HttpResponse | None:
        with self._lock:
            for rule in self._fail_rules:
                matches = (rule.paths in path) if rule.paths is not None else is_api
                if rule.remaining > 0 and matches:
                    rule.remaining -= 1
                    return HttpResponse.text(rule.status, rule.body, "text/html;charset=UTF-8")
            self._fail_rules = [r for r in self._fail_rules if r.remaining > 0]
            if is_api and self._fail_fraction and self._flakes.random() < self._fail_fraction:
                self.flaked += 1
                body = "<html><body>502 Bad Gateway</body></html>"
                return HttpResponse.text(self._flake_status, body, "text/html;charset=UTF-8")
        return None

    # auth ------------------------------------------------------------------------------

    def _token_valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            entry = self._tokens.get(token)
            return entry is not None and self.clock() < entry.expires_at

    def _issue(self, ttl_s: float) -> dict[str, Any]:
        access = f"ID_{_random_chars(11)}:{self.corp_id}"
        refresh = f"ID_{_random_chars(11)}:{self.corp_id}"
        expires_at = self.clock() + ttl_s
        self._tokens[access] = _Token(refresh, expires_at)
        return {
            "accessToken": access,
            "refreshToken": refresh,
            "expireTime": int(expires_at * 1000),
            "corporationId": self.corp_id,
        }

    def _get_access_token(self, body: Any) -> HttpResponse:
        if body is _NO_BODY:
            return _BadRequest("请求体不是合法的JSON").response()
        ok = (
            isinstance(body, dict)
            and _same(body.get("appKey"), self.app_key)
            and _same(body.get("appSecurity"), self.app_security)
        )
        with self._lock:
            if not ok or self._reject_credentials:
                return HttpResponse.json(
                    403,
                    {"value": {"errorCode": 403, "errorMessage": "密钥无效", "errorDetail": None}},
                )
            value = self._issue(self.token_ttl_s)
            self.tokens_issued += 1
        return HttpResponse.json(200, {"value": value})

    def _refresh(self, req: HttpRequest) -> HttpResponse:
        access = req.query.get("accessToken", "")
        refresh = req.query.get("refreshToken", "")
        ttl = float(REFRESHED_TOKEN_TTL_S)
        if req.path == REFRESH_DAYS_PATH:
            try:
                ttl = float(int(req.query.get("expireDate", "")) * 86400)
            except ValueError:
                return _BadRequest("expireDate 参数错误").response()
        with self._lock:
            entry = self._tokens.get(access)
            if entry is None or self.clock() >= entry.expires_at or entry.refresh_token != refresh:
                return HttpResponse.text(403, "未授权")
            # Whether the old token dies on refresh is undocumented; we keep it alive.
            value = self._issue(ttl)
            self.tokens_refreshed += 1
        return HttpResponse.json(200, {"value": value})

    # invoice endpoints -----------------------------------------------------------------

    def _detail_batch(self, body: Any) -> HttpResponse:
        ids = _id_list(body, "invoiceIds")
        per_invoice = [list(self.world.lines_of(i)) for i in ids]
        per_invoice = [lines for lines in per_invoice if lines]
        # Interleave across invoices, then reverse: never grouped, never in request order.
        flat: list[dict[str, Any]] = []
        for depth in range(max((len(x) for x in per_invoice), default=0)):
            flat.extend(lines[depth] for lines in per_invoice if depth < len(lines))
        flat.reverse()
        return HttpResponse.json(200, {"items": flat})

    def _urls(self, body: Any) -> HttpResponse:
        ids = _id_list(body, "invoiceId")
        known = [
            (i, att)
            for i in ids
            if (inv := self.world.invoices.get(i)) is not None
            and (att := inv.attachment) is not None
        ]
        known.reverse()  # the docs stress: response order != request order
        expires = int(self.clock()) + URL_TTL_S
        items: list[dict[str, Any]] = []
        urls: list[str] = []
        for invoice_id, att in known:
            url = self._sign(att, expires)
            urls.append(url)
            items.append(
                {
                    "id": invoice_id,
                    "url": url,
                    "thumbUrl": url if att.kind == "image" else "",
                    "source": "ocr",
                    "fileName": att.file_name,
                    "region": [] if att.kind == "xml" else list(att.region),
                }
            )
        with self._lock:
            self._signed_urls.extend(urls)
        return HttpResponse.json(200, {"items": items})

    def _signature(self, raw_path: str, expires: str) -> str:
        digest = hmac.new(self._secret, f"{raw_path}\n{expires}".encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def _sign(self, att: Attachment, expires: int) -> str:
        raw_path = "/files/" + quote(att.file_name, safe="")
        params = [
            f"Expires={expires}",
            f"OSSAccessKeyId=STS.{_random_chars(25)}",
            f"Signature={quote(self._signature(raw_path, str(expires)), safe='')}",
        ]
        if att.kind == "image":
            x, y, w, h = (int(v) for v in (list(att.region) + [0.0] * 4)[:4])
            process = f"image/crop,w_{w},h_{h},x_{x},y_{y},g_nw"
            params.append(f"x-oss-process={quote(process, safe='')}")
        token = base64.b64encode(secrets.token_bytes(375)).decode()
        params.append(f"security-token={quote(token, safe='')}")
        return f"{self.base_url}{raw_path}?{'&'.join(params)}"

    def _file(self, req: HttpRequest) -> HttpResponse:
        expires = req.query.get("Expires", "")
        signature = req.query.get("Signature", "")
        if not expires or not signature or "OSSAccessKeyId" not in req.query:
            return _oss_error("AccessDenied", "You have no right to access this object.")
        try:
            expires_at = int(expires)
        except ValueError:
            return _oss_error("AccessDenied", "Invalid Expires.")
        if self.clock() > expires_at:
            return _oss_error("AccessDenied", "Request has expired.")
        if not hmac.compare_digest(signature, self._signature(req.raw_path, expires)):
            return _oss_error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        name = req.path[len("/files/") :]
        att = self.world.by_file_name.get(name)
        if att is None:
            return _oss_error("NoSuchKey", "The specified key does not exist.", status=404)
        with self._lock:
            content = self.world.file_bytes.get(name)
        return _placeholder(att, content)

    def _master_search(self, object_id: str, body: Any) -> HttpResponse:
        if object_id not in OBJECT_ENTITIES:
            raise _BadRequest(f"不支持的业务对象「{object_id}」")
        if not isinstance(body, dict) or not any(
            body.get(k) is not None for k in ("ids", "codes", "index", "count")
        ):
            raise _BadRequest("查询参数不能为空!!!")
        masters = self.world.masters_of(object_id)
        if body.get("ids") is not None:
            ids = _strings(body["ids"], "ids")
            by_id = {m["id"]: m for m in masters}
            found = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
            return HttpResponse.json(200, {"count": len(found), "items": found})
        if body.get("codes") is not None:
            codes = _strings(body["codes"], "codes")
            by_code = {":".join(_master_code_number(m, object_id)): m for m in masters}
            found = [by_code[c] for c in dict.fromkeys(codes) if c in by_code]
            return HttpResponse.json(200, {"count": len(found), "items": found})
        index, count = body.get("index", 1), body.get("count", 10)
        if not isinstance(index, int) or not isinstance(count, int) or index < 0 or count < 1:
            raise _BadRequest("分页参数错误")
        if index == 0:
            raise _BadRequest("当前页不能为0")
        count = min(count, 100)
        page = masters[(index - 1) * count : index * count]
        return HttpResponse.json(200, {"count": len(masters), "items": page})

    def _flow_search(self, body: Any) -> HttpResponse:
        kind = body.get("type") if isinstance(body, dict) else None
        if kind not in ("code", "id"):
            raise _BadRequest(f"不支持此类型type={kind}")
        keys = _strings(body.get("codeOrIds"), "codeOrIds")
        reports = self.world.reports_by_code if kind == "code" else self.world.reports_by_id
        value = {key: reports[key] for key in keys if key in reports}
        return HttpResponse.json(200, {"value": value})

    # staff and report participants ------------------------------------------------------

    def _staff_ids(self, body: Any) -> HttpResponse:
        """getStaffIds: active staff whose field matches; MAIL compares case-insensitively
        (undocumented; we assume Ekuaibao's mailbox match is not case-sensitive)."""
        kind = body.get("type") if isinstance(body, dict) else None
        if not isinstance(kind, str) or kind not in _STAFF_FIELDS:
            raise _BadRequest(f"不支持的查询方式type={kind}")
        conditions = body.get("conditionIds")
        if not conditions:
            raise _BadRequest("查询conditionIds不能为空")
        wanted = _strings(conditions, "conditionIds")
        if len(wanted) > 100:
            raise _BadRequest("conditionIds不能超过100个")
        field_name = _STAFF_FIELDS[kind]
        if kind == "MAIL":
            wanted = [w.lower() for w in wanted]
        with self._lock:
            directory = copy.deepcopy(self.world.staff)
        items = []
        for member in directory:
            value = str(member.get(field_name) or "")
            if kind == "MAIL":
                value = value.lower()
            if member.get("active") and value and value in wanted:
                items.append(member)
        return HttpResponse.json(200, {"items": items})

    def _flow_details(self, req: HttpRequest) -> HttpResponse:
        flow_id = req.query.get("flowId", "")
        if not flow_id:
            raise _BadRequest("flowId不能为空")
        with self._lock:
            value = copy.deepcopy(self.world.flows.get(flow_id))
        if value is None:
            raise _BadRequest("单据不存在", status=412)
        return HttpResponse.json(200, {"value": value})

    def _approve_states(self, bracketed: str) -> HttpResponse:
        if not (bracketed.startswith("[") and bracketed.endswith("]")):
            raise _BadRequest("ids参数格式错误，应为[id1,id2]")
        ids = [i.strip() for i in bracketed[1:-1].split(",") if i.strip()]
        if not ids:
            raise _BadRequest("ids不能为空")
        with self._lock:
            items = [
                copy.deepcopy(self.world.approve_states[i])
                for i in dict.fromkeys(ids)
                if i in self.world.approve_states
            ]
        return HttpResponse.json(200, {"items": items})

    def _risk_labels(self, bracketed: str) -> HttpResponse:
        """Items for the reports that have tags; none found is `{"items": []}`, not an error."""
        if not (bracketed.startswith("[") and bracketed.endswith("]")):
            raise _BadRequest("flowIds参数格式错误，应为[id1,id2]")
        ids = [i.strip() for i in bracketed[1:-1].split(",") if i.strip()]
        with self._lock:
            items = [
                copy.deepcopy(self.world.risk_labels[i])
                for i in dict.fromkeys(ids)
                if i in self.world.risk_labels
            ]
        return HttpResponse.json(200, {"items": items})


def _same(given: Any, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _NO_BODY


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _BadRequest(f"参数{name}必须是字符串数组")
    return list(value)


def _id_list(body: Any, key: str) -> list[str]:
    if not isinstance(body, dict) or body.get(key) is None:
        raise _BadRequest("查询参数不能为空!!!")
    return list(dict.fromkeys(_strings(body[key], key)))


def _oss_error(code: str, message: str, status: int = 403) -> HttpResponse:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error>\n"
        f"  <Code>{code}</Code>\n"
        f"  <Message>{message}</Message>\n"
        f"  <RequestId>{secrets.token_hex(12).upper()}</RequestId>\n"
        "  <HostId>127.0.0.1</HostId>\n"
        "</Error>\n"
    )
    return HttpResponse.text(status, xml, "application/xml")


#: The sample file each kind of attachment is served as (sandbox/data/files/).
_SAMPLES = {
    "pdf": ("invoice.pdf", "application/pdf"),
    "jpg": ("receipt.jpg", "image/jpeg"),
    "jpeg": ("receipt.jpg", "image/jpeg"),
    "xml": ("invoice.xml", "application/xml"),
    "ofd": ("invoice.ofd", "application/ofd"),
}


def _sample_file(name: str) -> bytes | None:
    try:
        return importlib.resources.files("sandbox").joinpath("data", "files", name).read_bytes()
    except FileNotFoundError:
        return None


def _placeholder(att: Attachment, content: bytes | None = None) -> HttpResponse:
    """The file's bytes: a test's own (`SandboxWorld.file_bytes`), else a real sample of
    its kind, else a minimal stub."""
    suffix = att.file_name.rsplit(".", 1)[-1].lower()
    sample = _SAMPLES.get(suffix)
    ctype = sample[1] if sample else ("image/png" if att.kind == "image" else "application/pdf")
    if content is None and sample is not None:
        content = _sample_file(sample[0])
    if content is not None:
        return HttpResponse(200, content, ctype)
    if att.kind == "image":
        if suffix in ("jpg", "jpeg"):
            return HttpResponse(200, _JPEG_1PX, "image/jpeg")
        return HttpResponse(200, _PNG_1PX, "image/png")
    if att.kind == "ofd":
        return HttpResponse(200, _OFD_STUB, "application/ofd")
    if att.kind == "xml":
        return HttpResponse(200, _XML_STUB, "application/xml")
    return HttpResponse(200, _PDF_STUB, "application/pdf")
