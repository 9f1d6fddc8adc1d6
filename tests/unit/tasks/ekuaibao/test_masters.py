"""Invoice masters (§5) and report refs (§4): parsing, and the two client calls.

The client calls run over httpx.MockTransport here, and against the sandbox stand-in on
127.0.0.1 in tests/integration/test_client_masters_standin.py.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tasks.ekuaibao.client import (
    FLOW_INVOICE_SEARCH_PATH,
    Credentials,
    EkuaibaoClient,
)
from tasks.ekuaibao.errors import BadRequest, Unavailable
from tasks.ekuaibao.masters import (
    LAYOUTS,
    InvoiceMaster,
    ReportInfo,
    ReportInvoiceRef,
    parse_report_invoices,
)
from tasks.ekuaibao.models import MalformedPayload
from tasks.ekuaibao.session import CALL_TRIES_MAX, TOKEN_PATH
from tasks.ekuaibao.tokens import MemoryTokenStore

DATA = Path(__file__).resolve().parents[4] / "sandbox" / "data"
BY_TYPE: dict[str, dict[str, Any]] = json.loads((DATA / "invoice-master.by-type.json").read_text())
FLOW_SEARCH: dict[str, Any] = json.loads((DATA / "flow-invoice-search.response.json").read_text())
VAT_ID = "djg8LshfUkfM00:044032100111:13415524"


def master_path(object_id: str) -> str:
    return f"/api/openapi/v2/extension/INVOICE/object/{object_id}/search"


# -- parsing ------------------------------------------------------------------------------

# objectId: (code, number, issued_ms, total)
EXPECTED: dict[str, tuple[str | None, str | None, int | None, Decimal]] = {
    "invoice": ("044032100111", "13415524", 1662652800000, Decimal("171.00")),
    "other": (None, None, 1694880000000, Decimal("10.00")),
    "taxi": ("133022034001", "19777479", 1679377200000, Decimal("15.00")),
    "fixed": ("15101138J003", "00053373", None, Decimal("1")),
    "passengerCar": ("121001871113", "03720884", 1692720000000, Decimal("77.00")),
    "machinePrint": ("111002009110", "00024327", 1690473600000, Decimal("16.50")),
    "shopping": (None, None, 1687190400000, Decimal("100.00")),
    "train": (None, "B054158", 1700644140000, Decimal("443.00")),
    "flightItinerary": (None, "7812431511988", 1679304600000, Decimal("1250.00")),
    "tolls": ("134012371201", "02030479", 1701705600000, Decimal("10.00")),
    "medical": ("35060122", "0032247496", 1673798400000, Decimal("218.77")),
    "noTaxIncome": ("44010223", "8008094070", 1693238400000, Decimal("4161.00")),
}

# Values that must never leave Ekuaibao: national id, passenger and payer names.
PII = ["142724198910140271", "荆雄", "高美丽", "李*莹", "林逍逸"]


class TestParsing:
    def test_every_sample_type_is_covered(self) -> None:
        assert set(BY_TYPE) == set(EXPECTED) == set(LAYOUTS)

    @pytest.mark.parametrize("object_id", sorted(EXPECTED))
    def test_every_type_parses(self, object_id: str) -> None:
        raw = BY_TYPE[object_id]
        master = InvoiceMaster.from_api(object_id, raw)
        code, number, issued_ms, total = EXPECTED[object_id]
        assert (master.invoice_id, master.object_id) == (raw["id"], object_id)
        assert (master.code, master.number, master.issued_ms, master.total) == (
            code,
            number,
            issued_ms,
            total,
        )
        assert master.report is not None and master.report.flow_id == raw["flowId"]
        assert master.report.code == raw["flowForm"]["code"]

    def test_vat_invoice_fields(self) -> None:
        master = InvoiceMaster.from_api("invoice", BY_TYPE["invoice"])
        assert master.seller == "中国联合网络通信有限公司深圳市分公司"
        assert master.buyer == "北京合思信息技术有限公司"
        assert master.total == Decimal("171.00")
        assert master.category == "DIGITAL_NORMAL"
        assert master.verified is True
        assert master.report == ReportInfo(
            flow_id="ID01vmXWPHarK6",
            code="B23001249",
            title="校验测试",
            state="approving",
            submitter_id="djg8LshfUkfM00:ID01ojZ2n2e0PR",
            submitted_ms=1702629998692,
            expense_total=Decimal("117354.32"),
        )

    def test_machine_printed_has_parties_tickets_do_not(self) -> None:
        machine = InvoiceMaster.from_api("machinePrint", BY_TYPE["machinePrint"])
        assert machine.seller == "北京北投静态交通投资运营有限责任公司"
        assert machine.buyer == "麒麟软件有限公司"
        assert machine.category is None and machine.verified is None
        taxi = InvoiceMaster.from_api("taxi", BY_TYPE["taxi"])
        assert (taxi.seller, taxi.buyer, taxi.category, taxi.verified) == (None,) * 4

    def test_empty_title_is_none_and_no_form_is_no_report(self) -> None:
        flight = InvoiceMaster.from_api("flightItinerary", BY_TYPE["flightItinerary"])
        assert flight.report is not None and flight.report.title is None
        unused = {k: v for k, v in BY_TYPE["taxi"].items() if k not in ("flowForm", "flowId")}
        assert InvoiceMaster.from_api("taxi", unused).report is None
        assert InvoiceMaster.from_api("taxi", {**unused, "flowForm": None}).report is None

    def test_no_pii_on_the_model(self) -> None:
        assert set(InvoiceMaster.model_fields) == {
            "invoice_id",
            "object_id",
            "code",
            "number",
            "issued_ms",
            "category",
            "seller",
            "buyer",
            "verified",
            "total",
            "report",
            "seller_tax_id",
            "buyer_tax_id",
            "remarks",
            "unreadable",
        }
        for object_id, raw in BY_TYPE.items():
            dumped = InvoiceMaster.from_api(object_id, raw).model_dump_json()
            assert not [p for p in PII if p in dumped], object_id

    def test_full_response_with_entity_parses(self) -> None:
        (raw,) = json.loads((DATA / "invoice-master.response.json").read_text())["items"]
        master = InvoiceMaster.from_api("invoice", raw)
        assert master.total is not None and master.number is not None

    def test_a_type_added_later_uses_its_entity_id(self) -> None:
        raw = {"id": "ID_new", "entityId": "system_船票", "E_system_船票_金额": {"standard": "8"}}
        master = InvoiceMaster.from_api("ship", raw)
        assert (master.object_id, master.total, master.issued_ms) == ("ship", Decimal("8"), None)

    @pytest.mark.parametrize(
        ("object_id", "raw"),
        [
            ("invoice", []),
            ("invoice", {"no": "id"}),
            ("invoice", {"id": 7}),
            ("bogus", {"id": "x"}),
        ],
    )
    def test_malformed(self, object_id: str, raw: Any) -> None:
        with pytest.raises(MalformedPayload):
            InvoiceMaster.from_api(object_id, raw)

    @pytest.mark.parametrize(
        ("key", "value", "field"),
        [
            ("E_system_发票主体_价税合计", {"standard": "abc"}, "total"),
            ("E_system_发票主体_价税合计", {"standard": "NaN"}, "total"),
            ("E_system_发票主体_价税合计", {"standard": "Infinity"}, "total"),
            ("E_system_发票主体_价税合计", {"standard": "***"}, "total"),
            ("E_system_发票主体_价税合计", {"standard": "1e200"}, "total"),
            ("E_system_发票主体_价税合计", "171.00", "total"),
            ("E_system_发票主体_发票日期", "yesterday", "issued"),
            ("E_system_发票主体_验真", "yes", "verified"),
            ("E_system_发票主体_销售方名称", {"name": "x"}, "seller"),
            ("flowForm", "B23001249", "report"),
        ],
    )
    def test_one_bad_value_costs_its_field_only(self, key: str, value: Any, field: str) -> None:
        """Data errors are not outages: the rest of the invoice is still shown."""
        good = BY_TYPE["invoice"]
        master = InvoiceMaster.from_api("invoice", {**good, key: value})
        whole = InvoiceMaster.from_api("invoice", good)
        attribute = "issued_ms" if field == "issued" else field
        assert master.unreadable == (field,) and whole.unreadable == ()
        assert getattr(master, attribute) is None and getattr(whole, attribute) is not None
        rest = {attribute, "unreadable"}
        assert master.model_dump(exclude=rest) == whole.model_dump(exclude=rest)

    def test_a_reports_bad_expense_total_costs_that_field(self) -> None:
        raw = {**BY_TYPE["invoice"], "flowForm": {"code": "B1", "expenseMoney": {"standard": []}}}
        report = InvoiceMaster.from_api("invoice", raw).report
        assert report is not None and report.code == "B1"
        assert (report.expense_total, report.unreadable) == (None, ("expense_total",))

    def test_zero_date_means_no_date(self) -> None:
        raw = {"id": "x", "E_system_发票主体_发票日期": 0}
        assert InvoiceMaster.from_api("invoice", raw).issued_ms is None

    def test_report_refs_from_the_documented_sample(self) -> None:
        found = parse_report_invoices(FLOW_SEARCH)
        (vat, taxi) = found["j7sbyDMhYUpU00"]
        assert vat.invoice_id == "gwobfjObAAno00:3700171320:38415400"
        assert vat.invoice_type == "invoice" and len(vat.item_ids) == 7
        assert vat.item_ids[0] == "zz4byDMhYUh400"
        assert taxi == ReportInvoiceRef(
            invoice_id="5-sbyDJSOI0800", item_ids=(), invoice_type="taxi"
        )

    def test_report_refs_not_found_and_missing_type(self) -> None:
        assert parse_report_invoices({"value": {}}) == {}
        assert parse_report_invoices({"value": None}) == {}
        (ref,) = parse_report_invoices({"value": {"B1": [{"invoiceId": "ID_m"}]}})["B1"]
        assert ref == ReportInvoiceRef(invoice_id="ID_m", item_ids=(), invoice_type=None)

    @pytest.mark.parametrize(
        "body",
        [
            [],
            {},
            {"value": []},
            {"value": {"B1": {"invoiceId": "x"}}},
            {"value": {"B1": ["x"]}},
            {"value": {"B1": [{"invoiceItemId": []}]}},
            {"value": {"B1": [{"invoiceId": "x", "invoiceItemId": "a,b"}]}},
            {"value": {"B1": [{"invoiceId": "x", "invoiceItemId": [1]}]}},
        ],
    )
    def test_report_refs_malformed(self, body: Any) -> None:
        with pytest.raises(MalformedPayload):
            parse_report_invoices(body)


# -- client over MockTransport --------------------------------------------------------------


class FakeEkuaibao:
    """Issues tokens, answers master and flow search from the samples, records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.script: dict[str, list[httpx.Response]] = {}
        self.masters = {raw["id"]: (oid, raw) for oid, raw in BY_TYPE.items()}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == TOKEN_PATH:
            return httpx.Response(200, json={"value": {"accessToken": "T:c", "expireTime": 9e12}})
        assert request.url.params["accessToken"] == "T:c"
        body = json.loads(request.content)
        self.calls.append((path, body))
        if self.script.get(path):
            return self.script[path].pop(0)
        if path == FLOW_INVOICE_SEARCH_PATH:
            value = {k: v for k, v in FLOW_SEARCH["value"].items() if k in body["codeOrIds"]}
            return httpx.Response(200, json={"value": value})
        object_id = path.split("/")[-2]
        items = [
            self.masters[i][1]
            for i in body["ids"]
            if i in self.masters and self.masters[i][0] == object_id
        ]
        return httpx.Response(200, json={"count": len(items), "items": items})


def mock_client(fake: FakeEkuaibao) -> EkuaibaoClient:
    http = httpx.Client(base_url="https://ekb.test", transport=httpx.MockTransport(fake))
    return EkuaibaoClient(
        http, Credentials("key", "security"), MemoryTokenStore(), sleep=lambda s: None
    )


class TestClientMocked:
    def test_masters_are_fetched_in_chunks_of_100(self) -> None:
        fake = FakeEkuaibao()
        ids = [f"ID_unknown{i}" for i in range(230)]
        ids.insert(150, VAT_ID)
        found = mock_client(fake).invoice_masters("invoice", ids)
        assert [m.invoice_id for m in found] == [VAT_ID]
        sizes = [len(body["ids"]) for _, body in fake.calls]
        assert sizes == [100, 100, 31]
        assert {path for path, _ in fake.calls} == {master_path("invoice")}

    def test_master_ids_are_deduplicated_and_nothing_is_sent_for_none(self) -> None:
        fake = FakeEkuaibao()
        client = mock_client(fake)
        assert client.invoice_masters("taxi", []) == []
        assert fake.calls == []
        (taxi,) = client.invoice_masters("taxi", ["ID01t7pX8ylwkL", "ID01t7pX8ylwkL"])
        assert taxi.total == Decimal("15.00")
        assert fake.calls == [(master_path("taxi"), {"ids": ["ID01t7pX8ylwkL"]})]

    @pytest.mark.parametrize("object_id", ["", "../invoice", "invoice/detail", "a b", "x\n"])
    def test_object_id_must_be_a_plain_identifier(self, object_id: str) -> None:
        fake = FakeEkuaibao()
        with pytest.raises(ValueError):
            mock_client(fake).invoice_masters(object_id, ["x"])
        assert fake.calls == []

    def test_report_invoices_body_and_answer(self) -> None:
        fake = FakeEkuaibao()
        found = mock_client(fake).report_invoices("id", ["j7sbyDMhYUpU00", "nope"])
        assert fake.calls == [
            (FLOW_INVOICE_SEARCH_PATH, {"type": "id", "codeOrIds": ["j7sbyDMhYUpU00", "nope"]})
        ]
        assert list(found) == ["j7sbyDMhYUpU00"]
        assert [r.invoice_type for r in found["j7sbyDMhYUpU00"]] == ["invoice", "taxi"]

    def test_report_invoices_chunks_and_merges(self) -> None:
        fake = FakeEkuaibao()
        codes = [f"B{i:08d}" for i in range(150)] + ["j7sbyDMhYUpU00"]
        found = mock_client(fake).report_invoices("id", codes)
        assert [len(body["codeOrIds"]) for _, body in fake.calls] == [100, 51]
        assert list(found) == ["j7sbyDMhYUpU00"]

    @pytest.mark.parametrize(
        ("path", "response", "error"),
        [
            (master_path("invoice"), httpx.Response(200, json={"items": "nope"}), Unavailable),
            (master_path("invoice"), httpx.Response(200, json={"items": [{"no": 1}]}), Unavailable),
            (master_path("invoice"), httpx.Response(200, text="<html>"), Unavailable),
            (master_path("invoice"), httpx.Response(502, text="<html>"), Unavailable),
            (
                master_path("invoice"),
                httpx.Response(400, json={"errorMessage": "不支持的业务对象「invoice」"}),
                BadRequest,
            ),
            (FLOW_INVOICE_SEARCH_PATH, httpx.Response(200, json={"value": []}), Unavailable),
            (FLOW_INVOICE_SEARCH_PATH, httpx.Response(200, json={"items": []}), Unavailable),
            (
                FLOW_INVOICE_SEARCH_PATH,
                httpx.Response(200, json={"value": {"B1": [{"invoiceId": 3}]}}),
                Unavailable,
            ),
            (
                FLOW_INVOICE_SEARCH_PATH,
                httpx.Response(400, json={"errorMessage": "不支持此类型type=name"}),
                BadRequest,
            ),
        ],
    )
    def test_error_map(self, path: str, response: httpx.Response, error: type[Exception]) -> None:
        fake = FakeEkuaibao()
        fake.script[path] = [response] * CALL_TRIES_MAX  # the same to every repeat
        client = mock_client(fake)
        with pytest.raises(error) as caught:
            if path == FLOW_INVOICE_SEARCH_PATH:
                client.report_invoices("code", ["B1"])
            else:
                client.invoice_masters("invoice", ["x"])
        assert "T:c" not in str(caught.value)
        exc = caught.value  # never chained: an httpx error would carry the token-bearing URL
        assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)
