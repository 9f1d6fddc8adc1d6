"""The Ekuaibao client's report and invoice master calls over 127.0.0.1, against the stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from sandbox.ekuaibao import REPORT_CODE, REPORT_ID, EkuaibaoStandIn, SandboxWorld
from tasks.ekuaibao.client import MASTER_SEARCH_PATH, Credentials, EkuaibaoClient
from tasks.ekuaibao.errors import BadRequest, Unavailable
from tasks.ekuaibao.session import CALL_TRIES_MAX
from tasks.ekuaibao.tokens import MemoryTokenStore

WORLD = SandboxWorld.load()
VAT_ID = "djg8LshfUkfM00:044032100111:13415524"  # the VAT invoice of the documented samples


@pytest.fixture
def standin() -> Iterator[EkuaibaoStandIn]:
    with EkuaibaoStandIn(world=WORLD) as ekb:
        yield ekb


@pytest.fixture
def client(standin: EkuaibaoStandIn) -> Iterator[EkuaibaoClient]:
    assert standin.base_url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=standin.base_url, timeout=5) as http:
        yield EkuaibaoClient(
            http,
            Credentials(standin.app_key, standin.app_security),
            MemoryTokenStore(),
            sleep=lambda s: None,  # a repeat's pause is the session's concern, tested there
        )


class TestClientSandbox:
    def test_report_by_code_and_by_id(self, client: EkuaibaoClient) -> None:
        by_code = client.report_invoices("code", [REPORT_CODE])
        by_id = client.report_invoices("id", [REPORT_ID])
        assert list(by_code) == [REPORT_CODE] and list(by_id) == [REPORT_ID]
        assert by_code[REPORT_CODE] == by_id[REPORT_ID]
        refs = by_code[REPORT_CODE]
        assert {r.invoice_type for r in refs} == {"invoice", "taxi"}
        assert VAT_ID in {r.invoice_id for r in refs}
        assert all(r.item_ids == () for r in refs if r.invoice_type == "taxi")

    def test_unknown_code_is_an_empty_dict(self, client: EkuaibaoClient) -> None:
        assert client.report_invoices("code", ["B99999999"]) == {}
        assert client.report_invoices("code", [REPORT_ID]) == {}  # an id is not a code

    def test_report_then_masters_by_type(self, client: EkuaibaoClient) -> None:
        refs = client.report_invoices("code", [REPORT_CODE])[REPORT_CODE]
        by_type: dict[str, list[str]] = {}
        for ref in refs:
            assert ref.invoice_type is not None
            by_type.setdefault(ref.invoice_type, []).append(ref.invoice_id)
        masters = {
            m.invoice_id: m for t, ids in by_type.items() for m in client.invoice_masters(t, ids)
        }
        assert set(masters) == {r.invoice_id for r in refs}
        vat = masters[VAT_ID]
        assert vat.seller == "中国联合网络通信有限公司深圳市分公司"
        assert vat.total == Decimal("171.00") and vat.verified is True
        assert vat.report is not None
        assert (vat.report.code, vat.report.state, vat.report.flow_id) == (
            REPORT_CODE,
            "approving",
            REPORT_ID,
        )
        assert all(m.report is not None and m.report.code == REPORT_CODE for m in masters.values())

    def test_master_search_chunks_by_100(
        self, client: EkuaibaoClient, standin: EkuaibaoStandIn
    ) -> None:
        ids = [f"ID_none{i}" for i in range(120)] + [VAT_ID]
        (found,) = client.invoice_masters("invoice", ids)
        assert found.invoice_id == VAT_ID
        calls = standin.calls_to(MASTER_SEARCH_PATH.format(object_id="invoice"))
        assert [len(c.body["ids"]) for c in calls] == [100, 21]
        assert all(c.status == 200 and "accessToken" in c.query for c in calls)

    def test_unknown_object_id_is_a_bad_request(self, client: EkuaibaoClient) -> None:
        with pytest.raises(BadRequest) as caught:
            client.invoice_masters("bogus", ["x"])
        assert caught.value.status == 400 and "不支持的业务对象「bogus」" in str(caught.value)

    def test_bad_type_is_a_bad_request(self, client: EkuaibaoClient) -> None:
        with pytest.raises(BadRequest) as caught:
            client.report_invoices("name", ["x"])  # type: ignore[arg-type]
        assert "不支持此类型type=name" in str(caught.value)

    def test_a_gateway_error_is_unavailable(
        self, client: EkuaibaoClient, standin: EkuaibaoStandIn
    ) -> None:
        standin.fail_next(CALL_TRIES_MAX, 502, paths="/flow/INVOICE/search")  # every try
        with pytest.raises(Unavailable):
            client.report_invoices("code", [REPORT_CODE])
        assert client.report_invoices("code", [REPORT_CODE])  # recovered
