"""The Ekuaibao stand-in must misbehave exactly like the docs say the real API does."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import pytest

from sandbox.ekuaibao import (
    DEMO_INVOICE_IDS,
    REPORT_CODE,
    REPORT_ID,
    SPECIAL_FILE_NAME,
    EkuaibaoStandIn,
    SandboxWorld,
    decode_file_name,
)
from tests.fakes import Clock

WORLD = SandboxWorld.load()  # parse the samples once for the whole module

AUTH = "/api/openapi/v1/auth/getAccessToken"
DETAIL_BATCH = "/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch"
URLS = "/api/openapi/v2/extension/INVOICE/url"
FLOW_SEARCH = "/api/openapi/v2/extension/flow/INVOICE/search"
CREDS = {"appKey": "sandbox-app-key", "appSecurity": "sandbox-app-security"}

SHOES = "djg8LshfUkfM00:033002100311:23272058"
PHONE = "djg8LshfUkfM00:044031900111:69872971"
MEAL = "0aM9AbvdhI0400:011001900111:07517347"
URL_SAMPLE_IDS = [
    "ID01xO4jZjprrx",
    "ID01xO4NESQ6gD",
    "Tdk3tgber501v0:044002105112:13116949",
    "Tdk3tgber501v0::23312000000123878916:2",
    "Tdk3tgber501v0::24442000000074288816",
]
LINE = "E_system_发票明细_"


@pytest.fixture
def clock() -> Clock:
    return Clock(1_710_496_535.0)


@pytest.fixture
def ekb(clock: Clock) -> Iterator[EkuaibaoStandIn]:
    with EkuaibaoStandIn(clock=clock, world=WORLD) as standin:
        yield standin


@pytest.fixture
def client(ekb: EkuaibaoStandIn) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ekb.base_url, timeout=5) as c:
        yield c


def get_token(client: httpx.Client) -> str:
    r = client.post(AUTH, json=CREDS)
    assert r.status_code == 200, r.text
    token: str = r.json()["value"]["accessToken"]
    return token


@pytest.fixture
def token(client: httpx.Client) -> str:
    return get_token(client)


def api(client: httpx.Client, path: str, token: str | None, body: Any = None) -> httpx.Response:
    params = {"accessToken": token} if token is not None else None
    return client.post(path, params=params, json=body)


# auth -------------------------------------------------------------------------------------


def test_token_shape_and_expiry_time(ekb: EkuaibaoStandIn, client: httpx.Client) -> None:
    r = client.post(AUTH, json=CREDS)
    assert r.status_code == 200
    value = r.json()["value"]
    assert re.fullmatch(r"ID_[A-Za-z0-9]{11}:djg8LshfUkfM00", value["accessToken"])
    assert value["refreshToken"] != value["accessToken"]
    assert value["expireTime"] == int((1_710_496_535.0 + 7200) * 1000)
    assert value["corporationId"] == "djg8LshfUkfM00"
    assert ekb.tokens_issued == 1


@pytest.mark.parametrize(
    ("params", "body"),
    [
        (None, {"appKey": "sandbox-app-key", "appSecurity": "wrong"}),
        (CREDS, None),  # credentials in the query string, as the docs warn against
        (None, {}),
        (None, {"appKey": "钥匙", "appSecurity": ["not", "a", "string"]}),
    ],
)
def test_bad_credentials_get_403_secret_invalid(
    client: httpx.Client, params: dict[str, str] | None, body: dict[str, str] | None
) -> None:
    r = client.post(AUTH, params=params, json=body)
    assert r.status_code == 403
    assert r.json() == {
        "value": {"errorCode": 403, "errorMessage": "密钥无效", "errorDetail": None}
    }


def test_reject_credentials_switch(ekb: EkuaibaoStandIn, client: httpx.Client) -> None:
    ekb.reject_credentials()
    assert client.post(AUTH, json=CREDS).status_code == 403
    ekb.reject_credentials(False)
    assert client.post(AUTH, json=CREDS).status_code == 200
    assert ekb.tokens_issued == 1


@pytest.mark.parametrize("bad", [None, "", "ID_nonsense:djg8LshfUkfM00"])
def test_missing_or_unknown_token_is_unauthorised(client: httpx.Client, bad: str | None) -> None:
    r = api(client, DETAIL_BATCH, bad, {"invoiceIds": [SHOES]})
    assert r.status_code == 403
    assert r.text == "未授权"


def test_token_expires_on_the_clock(
    ekb: EkuaibaoStandIn, client: httpx.Client, clock: Clock, token: str
) -> None:
    assert api(client, DETAIL_BATCH, token, {"invoiceIds": [SHOES]}).status_code == 200
    clock.advance(7199)
    assert api(client, DETAIL_BATCH, token, {"invoiceIds": [SHOES]}).status_code == 200
    clock.advance(2)
    r = api(client, DETAIL_BATCH, token, {"invoiceIds": [SHOES]})
    assert (r.status_code, r.text) == (403, "未授权")
    fresh = get_token(client)
    assert api(client, DETAIL_BATCH, fresh, {"invoiceIds": [SHOES]}).status_code == 200


def test_expire_tokens_kills_every_token_issued_so_far(
    ekb: EkuaibaoStandIn, client: httpx.Client
) -> None:
    first, second = get_token(client), get_token(client)
    ekb.expire_tokens()
    for old in (first, second):
        assert api(client, URLS, old, {"invoiceId": [SHOES]}).status_code == 403
    assert api(client, URLS, get_token(client), {"invoiceId": [SHOES]}).status_code == 200
    assert ekb.tokens_issued == 3


def test_refresh_rotates_both_tokens_only_before_expiry(
    ekb: EkuaibaoStandIn, client: httpx.Client, clock: Clock
) -> None:
    value = client.post(AUTH, json=CREDS).json()["value"]
    refresh = "/api/openapi/v2/auth/refreshToken"
    query = {
        "accessToken": value["accessToken"],
        "refreshToken": value["refreshToken"],
        "powerCode": "219904",
    }
    r = client.post(refresh, params=query)
    assert r.status_code == 200
    new = r.json()["value"]
    assert new["accessToken"] != value["accessToken"]
    assert new["expireTime"] == int((clock.now + 32 * 86400) * 1000)
    assert api(client, URLS, new["accessToken"], {"invoiceId": []}).status_code == 200
    assert ekb.tokens_refreshed == 1
    clock.advance(7201)  # the original token is now expired: refresh must fail
    r = client.post(refresh, params=query)
    assert (r.status_code, r.text) == (403, "未授权")


def test_location_points_back_at_the_stand_in(ekb: EkuaibaoStandIn, client: httpx.Client) -> None:
    r = client.get("/api/openapi/v2/location", params={"corpId": "djg8LshfUkfM00"})
    assert r.json() == {"value": ekb.base_url + "/"}


# line items -------------------------------------------------------------------------------


def _by_master(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        grouped.setdefault(item["masterId"], []).append(item)
    return grouped


def test_detail_batch_is_flat_and_sums_match_the_docs(client: httpx.Client, token: str) -> None:
    r = api(client, DETAIL_BATCH, token, {"invoiceIds": [SHOES, PHONE]})
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) == 3
    shoes = _by_master(items)[SHOES]
    amount = sum(Decimal(str(i[f"{LINE}金额"]["standard"])) for i in shoes)
    tax = sum(Decimal(str(i[f"{LINE}税额"]["standard"])) for i in shoes)
    assert (amount, tax) == (Decimal("232.74"), Decimal("30.26"))
    discount = next(i for i in shoes if i[f"{LINE}金额"]["standard"] == "-110.62")
    assert discount[f"{LINE}单价"] is None and discount[f"{LINE}数量"] == ""
    (phone,) = _by_master(items)[PHONE]
    assert phone["id"] == "ID_3tlmF6$S1bg"
    assert all("entity" in i for i in items)  # the big schema blob is served as-is


def test_detail_batch_order_is_not_grouped_by_request(client: httpx.Client, token: str) -> None:
    items = api(client, DETAIL_BATCH, token, {"invoiceIds": [SHOES, PHONE]}).json()["items"]
    masters = [i["masterId"] for i in items]
    assert masters != sorted(masters, key=[SHOES, PHONE].index)
    assert masters[0] == masters[-1] == SHOES  # interleaved: the phone line sits in between


def test_detail_batch_unknown_ids_contribute_nothing(client: httpx.Client, token: str) -> None:
    unknown = "djg8LshfUkfM00:044031900111:00000000"
    items = api(client, DETAIL_BATCH, token, {"invoiceIds": [unknown, MEAL]}).json()["items"]
    assert [i["masterId"] for i in items] == [MEAL]
    r = api(client, DETAIL_BATCH, token, {"invoiceIds": [unknown]})
    assert (r.status_code, r.json()) == (200, {"items": []})


def test_detail_batch_bad_bodies(client: httpx.Client, token: str) -> None:
    assert api(client, DETAIL_BATCH, token, None).status_code == 400
    r = client.post(
        DETAIL_BATCH,
        params={"accessToken": token},
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["errorCode"] == 400


def test_single_detail_keeps_its_quirks(client: httpx.Client, token: str) -> None:
    r = api(client, f"/api/openapi/v2/extension/INVOICE/object/invoice/{MEAL}/detail", token)
    (line,) = r.json()["items"]
    assert line[f"{LINE}金额"]["standardScale"] == "2"
    assert f"{LINE}规格型号" not in line


# attachment links -------------------------------------------------------------------------


def test_url_items_fields_and_order(
    ekb: EkuaibaoStandIn, client: httpx.Client, token: str, clock: Clock
) -> None:
    asked = [*URL_SAMPLE_IDS, "ID_unknown0000"]
    items = api(client, URLS, token, {"invoiceId": asked}).json()["items"]
    ids = [i["id"] for i in items]
    assert sorted(ids) == sorted(URL_SAMPLE_IDS)
    assert ids != URL_SAMPLE_IDS
    by_id = {i["id"]: i for i in items}
    png = by_id["ID01xO4jZjprrx"]
    assert png["fileName"] == "发票37-1710495952586-302.png"
    assert png["thumbUrl"] == png["url"] and png["source"] == "ocr"
    assert (
        "x-oss-process=image%2Fcrop%2Cw_675%2Ch_505%2Cx_0%2Cy_0%2Cg_nw&security-token="
        in (png["url"])
    )
    for pid in URL_SAMPLE_IDS[2:]:
        assert by_id[pid]["thumbUrl"] == ""
        assert "x-oss-process" not in by_id[pid]["url"]
    assert by_id["Tdk3tgber501v0::23312000000123878916:2"]["region"] == []
    expires = set()
    for item in items:
        parts = urlsplit(item["url"])
        assert item["url"].startswith(ekb.base_url + "/files/")
        assert unquote(parts.path.removeprefix("/files/")) == item["fileName"]
        query = parse_qsl(parts.query)
        keys = [k for k, _ in query]
        assert keys[:3] == ["Expires", "OSSAccessKeyId", "Signature"]
        assert keys[-1] == "security-token"
        values = dict(query)
        assert values["OSSAccessKeyId"].startswith("STS.")
        assert len(values["security-token"]) >= 450
        expires.add(values["Expires"])
    assert expires == {str(int(clock.now) + 3600)}
    assert ekb.signed_urls_served() == [i["url"] for i in items]


def test_each_call_signs_fresh_urls(
    ekb: EkuaibaoStandIn, client: httpx.Client, token: str, clock: Clock
) -> None:
    first = api(client, URLS, token, {"invoiceId": [SHOES]}).json()["items"][0]["url"]
    clock.advance(600)
    second = api(client, URLS, token, {"invoiceId": [SHOES]}).json()["items"][0]["url"]
    assert first != second
    expires = [dict(parse_qsl(urlsplit(u).query))["Expires"] for u in (first, second)]
    assert int(expires[1]) - int(expires[0]) == 600
    assert ekb.signed_urls_served() == [first, second]


def test_synthesized_attachments(client: httpx.Client, token: str) -> None:
    items = api(client, URLS, token, {"invoiceId": [SHOES, "ID01sH5bQFNkoT"]}).json()["items"]
    names = {i["id"]: i["fileName"] for i in items}
    assert names[SHOES] == "发票-23272058.pdf"
    assert names["ID01sH5bQFNkoT"] == SPECIAL_FILE_NAME
    assert {"&", "<", ">"} <= set(SPECIAL_FILE_NAME)


@pytest.mark.parametrize(
    ("invoice_id", "content_type"),
    [
        ("ID01xO4jZjprrx", "image/png"),
        ("ID01xO4NESQ6gD", "image/jpeg"),
        ("Tdk3tgber501v0:044002105112:13116949", "application/pdf"),
        ("Tdk3tgber501v0::24442000000074288816", "application/ofd"),
        ("Tdk3tgber501v0::23312000000123878916:2", "application/xml"),
        ("ID01sH5bQFNkoT", "application/pdf"),  # & < > % in the name
    ],
)
def test_download_valid_link(
    client: httpx.Client, token: str, invoice_id: str, content_type: str
) -> None:
    url = api(client, URLS, token, {"invoiceId": [invoice_id]}).json()["items"][0]["url"]
    r = httpx.get(url, timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"] == content_type
    assert r.content


def test_download_expired_and_tampered_links(
    client: httpx.Client, token: str, clock: Clock
) -> None:
    url = api(client, URLS, token, {"invoiceId": ["ID01xO4jZjprrx"]}).json()["items"][0]["url"]
    parts = urlsplit(url)
    # Re-encoding the path (here: lowercase hex) breaks the signature, as on real OSS.
    reencoded = url.replace(parts.path, parts.path.lower())
    r = httpx.get(reencoded, timeout=5)
    assert r.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in r.text
    tampered = re.sub(r"Signature=[^&]+", "Signature=AAAA", url)
    assert "SignatureDoesNotMatch" in httpx.get(tampered, timeout=5).text
    clock.advance(3601)
    r = httpx.get(url, timeout=5)
    assert r.status_code == 403
    assert "<Code>AccessDenied</Code>" in r.text
    assert "<Message>Request has expired.</Message>" in r.text


# fault knobs ------------------------------------------------------------------------------


def test_fail_next_returns_html_then_recovers(
    ekb: EkuaibaoStandIn, client: httpx.Client, token: str
) -> None:
    ekb.fail_next(2, status=502)
    for _ in range(2):
        r = api(client, DETAIL_BATCH, token, {"invoiceIds": [SHOES]})
        assert r.status_code == 502
        assert r.headers["content-type"].startswith("text/html")
        assert "Bad Gateway" in r.text
    assert api(client, DETAIL_BATCH, token, {"invoiceIds": [SHOES]}).status_code == 200


def test_fail_next_spares_auth_and_honours_paths(
    ekb: EkuaibaoStandIn, client: httpx.Client, token: str
) -> None:
    ekb.fail_next(1, status=500, paths="/INVOICE/url")
    assert client.post(AUTH, json=CREDS).status_code == 200
    assert api(client, DETAIL_BATCH, token, {"invoiceIds": [SHOES]}).status_code == 200
    assert api(client, URLS, token, {"invoiceId": [SHOES]}).status_code == 500
    assert api(client, URLS, token, {"invoiceId": [SHOES]}).status_code == 200


def test_fail_next_can_target_downloads(
    ekb: EkuaibaoStandIn, client: httpx.Client, token: str
) -> None:
    url = api(client, URLS, token, {"invoiceId": [SHOES]}).json()["items"][0]["url"]
    ekb.fail_next(1, status=503, paths="/files/")
    assert httpx.get(url, timeout=5).status_code == 503
    assert httpx.get(url, timeout=5).status_code == 200


def test_stall_next_and_delay(ekb: EkuaibaoStandIn, client: httpx.Client, token: str) -> None:
    ekb.stall_next(1, 0.5)
    with pytest.raises(httpx.ReadTimeout):
        client.post(
            DETAIL_BATCH, params={"accessToken": token}, json={"invoiceIds": [SHOES]}, timeout=0.1
        )
    started = time.perf_counter()
    assert api(client, DETAIL_BATCH, token, {"invoiceIds": [SHOES]}).status_code == 200
    assert time.perf_counter() - started < 0.3  # only the next call stalled
    ekb.delay_s = 0.15
    started = time.perf_counter()
    api(client, DETAIL_BATCH, token, {"invoiceIds": [SHOES]})
    assert time.perf_counter() - started >= 0.15


# master and flow search -------------------------------------------------------------------


def master(object_id: str) -> str:
    return f"/api/openapi/v2/extension/INVOICE/object/{object_id}/search"


def test_master_search_by_ids_codes_and_pages(client: httpx.Client, token: str) -> None:
    sample = "djg8LshfUkfM00:044032100111:13415524"
    r = api(client, master("invoice"), token, {"ids": [sample, "nope", "ID01t7pX8ylwkL"]})
    body = r.json()
    assert body["count"] == 1 and body["items"][0]["id"] == sample
    assert "entity" in body["items"][0]  # the full documented response
    r = api(client, master("invoice"), token, {"codes": ["033002100311:23272058"]})
    (shoes,) = r.json()["items"]
    assert shoes["E_system_发票主体_价税合计"]["standard"] == "263.00"  # 232.74 + 30.26
    r = api(client, master("taxi"), token, {"index": 1, "count": 100})
    assert [i["id"] for i in r.json()["items"]] == ["ID01t7pX8ylwkL"]


@pytest.mark.parametrize(
    ("object_id", "body", "message"),
    [
        ("invoice", None, "查询参数不能为空!!!"),
        ("invoice", {}, "查询参数不能为空!!!"),
        ("invoice", {"index": 0, "count": 10}, "当前页不能为0"),
        ("bogus", {"ids": ["x"]}, "不支持的业务对象「bogus」"),
    ],
)
def test_master_search_errors(
    client: httpx.Client, token: str, object_id: str, body: Any, message: str
) -> None:
    r = api(client, master(object_id), token, body)
    assert r.status_code == 400
    assert r.json()["errorMessage"] == message


def test_flow_search_sandbox_report(client: httpx.Client, token: str) -> None:
    for kind, key in (("code", REPORT_CODE), ("id", REPORT_ID)):
        r = api(client, FLOW_SEARCH, token, {"type": kind, "codeOrIds": [key]})
        entries = r.json()["value"][key]
        types = [e["invoiceType"] for e in entries]
        assert "taxi" in types and types.count("invoice") >= 3
        for entry in entries:
            lines = WORLD.lines_of(entry["invoiceId"])
            assert entry["invoiceItemId"] == [line["id"] for line in lines]
        with_lines = {e["invoiceId"] for e in entries if e["invoiceItemId"]}
        assert with_lines == {SHOES, PHONE, MEAL}


def test_flow_search_sample_unknown_and_bad_type(client: httpx.Client, token: str) -> None:
    r = api(client, FLOW_SEARCH, token, {"type": "id", "codeOrIds": ["j7sbyDMhYUpU00"]})
    (first, taxi) = r.json()["value"]["j7sbyDMhYUpU00"]
    assert first["invoiceId"] == "gwobfjObAAno00:3700171320:38415400"
    assert taxi == {"invoiceId": "5-sbyDJSOI0800", "invoiceItemId": [], "invoiceType": "taxi"}
    r = api(client, FLOW_SEARCH, token, {"type": "code", "codeOrIds": ["B99999999"]})
    assert (r.status_code, r.json()) == (200, {"value": {}})
    r = api(client, FLOW_SEARCH, token, {"type": "code", "codeOrIds": [REPORT_ID]})
    assert r.json() == {"value": {}}  # an id is not a code
    r = api(client, FLOW_SEARCH, token, {"type": "name", "codeOrIds": ["x"]})
    assert r.status_code == 400
    assert r.json()["errorMessage"] == "不支持此类型type=name"


# recording, world, lifecycle --------------------------------------------------------------


def test_calls_are_recorded(ekb: EkuaibaoStandIn, client: httpx.Client, token: str) -> None:
    api(client, DETAIL_BATCH, token, {"invoiceIds": [SHOES]})
    assert client.get("/nope").status_code == 404
    auth, batch, missing = ekb.calls
    assert (auth.path, auth.status, auth.body) == (AUTH, 200, CREDS)
    assert batch.query == {"accessToken": token}
    assert batch.body == {"invoiceIds": [SHOES]}
    assert batch.at == 1_710_496_535.0
    assert (missing.method, missing.status) == ("GET", 404)
    assert ekb.calls_to("detailBatch") == [batch]


def test_concurrent_calls_are_all_recorded(
    ekb: EkuaibaoStandIn, client: httpx.Client, token: str
) -> None:
    statuses: list[int] = []

    def worker() -> None:
        with httpx.Client(base_url=ekb.base_url, timeout=5) as c:
            statuses.append(api(c, URLS, token, {"invoiceId": URL_SAMPLE_IDS}).status_code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8
    assert len(ekb.calls_to("/INVOICE/url")) == 8
    assert len(ekb.signed_urls_served()) == 8 * len(URL_SAMPLE_IDS)


def test_world_and_demo_ids(ekb: EkuaibaoStandIn) -> None:
    known = ekb.known_invoice_ids()
    assert list(DEMO_INVOICE_IDS[:-1]) == [i for i in DEMO_INVOICE_IDS if i in known]
    assert DEMO_INVOICE_IDS[-1] not in known
    assert len(known) == len(set(known))
    for invoice in WORLD.invoices.values():
        if invoice.lines:  # every invoice with lines is fully described and self-consistent
            assert invoice.attachment is not None and invoice.master is not None
            total = Decimal(invoice.master["E_system_发票主体_价税合计"]["standard"])
            assert total == sum(
                Decimal(str(line[f"{LINE}金额"]["standard"]))
                + Decimal(str(line[f"{LINE}税额"]["standard"]))
                for line in invoice.lines
            )


def test_decode_file_name_only_decodes_valid_utf8() -> None:
    assert decode_file_name("%E6%AD%A3%E5%B8%B81-1.jpg") == "正常1-1.jpg"
    assert decode_file_name("发票&%%-￥.pdf") == "发票&%%-￥.pdf"
    assert decode_file_name("%FF%FE-x.pdf") == "%FF%FE-x.pdf"


def test_stop_closes_kept_alive_connections(clock: Clock) -> None:
    standin = EkuaibaoStandIn(clock=clock, world=WORLD).start()
    with httpx.Client(base_url=standin.base_url, timeout=2) as c:
        assert c.post(AUTH, json=CREDS).status_code == 200
        standin.stop()
        with pytest.raises(httpx.TransportError):
            c.post(AUTH, json=CREDS)
    with pytest.raises(RuntimeError):
        _ = standin.base_url


# staff and report participants (access checks) ----------------------------------------------

STAFF_IDS = "/api/openapi/v1/staffs/getStaffIds"
FLOW_DETAILS = "/api/openapi/v1.1/flowDetails"
APPROVE_STATES = "/api/openapi/v2/approveStates"
SUBMITTER = "djg8LshfUkfM00:ID01ojZ2n2e0PR"


def test_get_staff_ids_by_mail_returns_active_staff_only(client: httpx.Client, token: str) -> None:
    emails = [
        "Sandbox.User@Example.com",
        "approver@example.com",
        "stranger@example.com",
        "former@example.com",
        "nobody@example.com",
    ]
    r = api(client, STAFF_IDS, token, {"type": "MAIL", "conditionIds": emails})
    assert r.status_code == 200
    items = r.json()["items"]
    by_email = {i["email"]: i for i in items}
    assert set(by_email) == {
        "sandbox.user@example.com",
        "approver@example.com",
        "stranger@example.com",
    }
    assert by_email["sandbox.user@example.com"]["id"] == SUBMITTER
    assert all(i["active"] is True for i in items)
    assert {"id", "name", "code", "departments", "defaultDepartment", "active", "email"} <= set(
        items[0]
    )
    r = api(client, STAFF_IDS, token, {"type": "STAFFID", "conditionIds": [SUBMITTER]})
    assert [i["email"] for i in r.json()["items"]] == ["sandbox.user@example.com"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "MAIL", "conditionIds": []}, "查询conditionIds不能为空"),
        ({"type": "MAIL"}, "查询conditionIds不能为空"),
        ({"type": "NAME", "conditionIds": ["x"]}, "不支持的查询方式type=NAME"),
        ({"type": "MAIL", "conditionIds": [1]}, "参数conditionIds必须是字符串数组"),
        ({"type": "MAIL", "conditionIds": [f"u{n}@e.com" for n in range(101)]}, "不能超过100"),
    ],
)
def test_get_staff_ids_bad_requests(
    client: httpx.Client, token: str, body: dict[str, Any], message: str
) -> None:
    r = api(client, STAFF_IDS, token, body)
    assert r.status_code == 400
    assert message in r.json()["errorMessage"]


def test_staff_and_flow_endpoints_need_a_token(client: httpx.Client) -> None:
    assert (
        api(client, STAFF_IDS, None, {"type": "MAIL", "conditionIds": ["a@b.c"]}).status_code == 403
    )
    assert client.get(FLOW_DETAILS, params={"flowId": REPORT_ID}).status_code == 403
    assert client.get(f"{APPROVE_STATES}/[{REPORT_ID}]").status_code == 403


def test_flow_details_of_the_sandbox_report(client: httpx.Client, token: str) -> None:
    r = client.get(FLOW_DETAILS, params={"flowId": REPORT_ID, "accessToken": token})
    assert r.status_code == 200
    value = r.json()["value"]
    assert value["id"] == REPORT_ID
    assert value["form"]["code"] == REPORT_CODE
    assert value["form"]["submitterId"] == value["ownerId"] == SUBMITTER
    assert value["state"] == "approving"
    (log,) = value["logs"]
    assert log["action"] == "freeflow.submit" and log["operatorId"] == SUBMITTER
    approver = log["nextOperatorId"]
    assert approver.startswith("djg8LshfUkfM00:") and approver != SUBMITTER
    invoices = {
        inv["invoiceId"]
        for d in value["form"]["details"]
        for inv in d["feeTypeForm"]["invoiceForm"]["invoices"]
    }
    search = api(client, FLOW_SEARCH, token, {"type": "id", "codeOrIds": [REPORT_ID]})
    assert invoices == {e["invoiceId"] for e in search.json()["value"][REPORT_ID]}


def test_flow_details_failures(client: httpx.Client, token: str) -> None:
    r = client.get(FLOW_DETAILS, params={"flowId": "ID01nothingHere", "accessToken": token})
    assert r.status_code == 412
    assert r.json()["errorMessage"] == "单据不存在"
    r = client.get(FLOW_DETAILS, params={"accessToken": token})
    assert r.status_code == 400
    assert (
        client.post(FLOW_DETAILS, params={"flowId": REPORT_ID, "accessToken": token}).status_code
        == 405
    )


@pytest.mark.parametrize("encoded", [False, True])
def test_approve_states(client: httpx.Client, token: str, encoded: bool) -> None:
    ids = f"{REPORT_ID},ID01nothingHere,lrMb7AO5So2800"
    path = f"{APPROVE_STATES}/%5B{ids}%5D" if encoded else f"{APPROVE_STATES}/[{ids}]"
    r = client.get(path, params={"accessToken": token})
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["flowId"] for i in items] == [REPORT_ID, "lrMb7AO5So2800"]
    current = items[0]
    assert current["stageName"] and current["delegateData"] == []
    (operator,) = current["operators"]
    assert set(operator) == {"id", "name", "code"}
    details = client.get(FLOW_DETAILS, params={"flowId": REPORT_ID, "accessToken": token})
    assert operator["id"] == details.json()["value"]["logs"][0]["nextOperatorId"]
    assert items[1]["operators"] == []


def test_approve_states_unknown_and_malformed(client: httpx.Client, token: str) -> None:
    r = client.get(f"{APPROVE_STATES}/[ID01nothingHere]", params={"accessToken": token})
    assert r.json() == {"items": []}
    assert (
        client.get(f"{APPROVE_STATES}/{REPORT_ID}", params={"accessToken": token}).status_code
        == 400
    )
    assert client.get(f"{APPROVE_STATES}/[]", params={"accessToken": token}).status_code == 400
