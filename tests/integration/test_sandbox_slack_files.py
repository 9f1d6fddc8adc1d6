"""The Slack stand-in must take file uploads the way Slack does, and refuse image blocks
whose `slack_file` Slack could not show: the bot's pictures reach users that way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.blockkit import validate_message
from sandbox.slack import FileShare, SlackStandIn
from tests.fakes import Clock

TOKEN = "xoxb-sandbox-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
# Binary on purpose: CR LF and NUL bytes must survive the upload untouched.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


@pytest.fixture
def clock() -> Clock:
    return Clock(1_710_496_535.0)


@pytest.fixture
def slack(clock: Clock) -> Iterator[SlackStandIn]:
    with SlackStandIn(clock=clock) as standin:
        yield standin


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.api_url)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def call(http: httpx.Client, slack: SlackStandIn, method: str, **params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = http.post(slack.api_url + method, json=params, headers=BEARER).json()
    return answer


def image(ref: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"type": "image", "slack_file": ref, "alt_text": "the receipt", **extra}


def picture(file_id: str) -> list[dict[str, Any]]:
    return [image({"id": file_id})]


def api_error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


def private_png(client: WebClient, name: str = "receipt.png") -> str:
    return str(client.files_upload_v2(content=PNG, filename=name)["file"]["id"])


def start_upload(http: httpx.Client, slack: SlackStandIn, name: str, data: bytes) -> str:
    got = call(http, slack, "files.getUploadURLExternal", filename=name, length=len(data))
    assert got["ok"] is True, got
    assert http.post(got["upload_url"], content=data).status_code == 200
    return str(got["file_id"])


# the three-step upload, through slack_sdk -------------------------------------------------


def test_files_upload_v2_shares_into_a_channel(
    slack: SlackStandIn, client: WebClient, clock: Clock
) -> None:
    done = client.files_upload_v2(
        channel="C0REVIEW", content=PNG, filename="chart.png", title="Chart", initial_comment="hi"
    )
    file_id = done["file"]["id"]
    assert file_id.startswith("F")
    assert (done["file"]["title"], done["file"]["name"]) == ("Chart", "chart.png")
    assert (done["file"]["mimetype"], done["file"]["filetype"]) == ("image/png", "png")
    assert done["file"]["channels"] == ["C0REVIEW"] and done["file"]["is_public"] is True

    record = slack.file(file_id)
    assert record is not None and record.complete and not record.deleted
    assert (record.content, record.length, record.uploaded_at) == (PNG, len(PNG), clock.now)
    assert record.channels == ("C0REVIEW",)
    [message] = slack.messages_in("C0REVIEW")
    assert record.shares == (FileShare("C0REVIEW", message["ts"], None),)
    assert message["text"] == "hi" and [f["id"] for f in message["files"]] == [file_id]
    assert "thread_ts" not in message
    methods = [c.method for c in slack.api_calls]
    assert methods == ["files.getUploadURLExternal", "files.completeUploadExternal"]


def test_files_upload_v2_into_a_thread(slack: SlackStandIn, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C0REVIEW", text="report R-1")["ts"]
    done = client.files_upload_v2(
        channel="C0REVIEW", file=PNG, filename="page.jpeg", thread_ts=parent
    )
    record = slack.file(done["file"]["id"])
    assert record is not None and record.filetype == "jpg" and record.mimetype == "image/jpeg"
    assert record.title == "page.jpeg"  # slack_sdk's default title is the filename
    [share] = record.shares
    assert (share.channel, share.thread_ts) == ("C0REVIEW", parent)
    reply = slack.message("C0REVIEW", share.ts)
    assert reply is not None and reply["thread_ts"] == parent and reply["files"]


def test_without_a_channel_the_file_stays_private(slack: SlackStandIn, client: WebClient) -> None:
    file_id = private_png(client)
    record = slack.file(file_id)
    assert record is not None and record.complete and record.shares == ()
    assert slack.messages_in("C0REVIEW") == []
    info = client.files_info(file=file_id)["file"]
    assert (info["channels"], info["ims"], info["is_public"], info["shares"]) == ([], [], False, {})
    assert [f.id for f in slack.files] == [file_id]


# slack_file in image blocks --------------------------------------------------------------


def test_an_uploaded_picture_shows_until_it_is_deleted(
    slack: SlackStandIn, client: WebClient, http: httpx.Client
) -> None:
    file_id = private_png(client)
    accessory = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "invoice"},
        "accessory": image({"id": file_id}),
    }
    posted = client.chat_postMessage(channel="C1", text="receipt", blocks=picture(file_id))
    client.chat_update(channel="C1", ts=posted["ts"], text="receipt", blocks=[accessory])
    client.chat_postEphemeral(channel="C1", user="U0SANDBOX", text="r", blocks=picture(file_id))
    url = slack.new_response_url()
    assert http.post(url, json={"text": "r", "blocks": picture(file_id)}).status_code == 200
    before = slack.file(file_id)

    assert client.files_delete(file=file_id)["ok"] is True
    record = slack.file(file_id)
    assert record is not None and record.deleted and before is not None and not before.deleted

    refused = ["invalid slack file [json-pointer:/blocks/0/slack_file]"]
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="receipt", blocks=picture(file_id))
    assert api_error(err) == "invalid_blocks" and err.value.response["errors"] == refused
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C1", ts=posted["ts"], text="receipt", blocks=[accessory])
    assert err.value.response["errors"] == [
        "invalid slack file [json-pointer:/blocks/0/accessory/slack_file]"
    ]
    with pytest.raises(SlackApiError) as err:
        client.chat_postEphemeral(channel="C1", user="U0SANDBOX", text="r", blocks=picture(file_id))
    assert api_error(err) == "invalid_blocks"
    r = http.post(url, json={"text": "r", "blocks": picture(file_id)})
    assert (r.status_code, r.text) == (400, "invalid_blocks")

    with pytest.raises(SlackApiError) as err:
        client.files_delete(file=file_id)
    assert api_error(err) == "file_deleted"
    with pytest.raises(SlackApiError) as err:
        client.files_info(file=file_id)
    assert api_error(err) == "file_deleted"


def test_a_deleted_file_leaves_a_tombstone_in_the_message_that_shared_it(
    slack: SlackStandIn, client: WebClient
) -> None:
    file_id = client.files_upload_v2(channel="C1", content=PNG, filename="a.png")["file"]["id"]
    client.files_delete(file=file_id)
    [message] = slack.messages_in("C1")
    assert message["files"] == [{"id": file_id, "mode": "tombstone"}]


def test_slack_file_by_url_private_or_permalink(slack: SlackStandIn, client: WebClient) -> None:
    info = client.files_info(file=private_png(client))["file"]
    for url in (info["url_private"], info["permalink"]):
        assert client.chat_postMessage(channel="C1", text="r", blocks=[image({"url": url})])["ok"]
    with pytest.raises(SlackApiError) as err:
        blocks = [image({"url": f"{slack.base_url}/files-pri/T0SANDBOX-F0NOPE/x.png"})]
        client.chat_postMessage(channel="C1", text="r", blocks=blocks)
    assert api_error(err) == "invalid_blocks"


def test_slack_file_must_be_a_complete_picture(
    slack: SlackStandIn, client: WebClient, http: httpx.Client
) -> None:
    pdf = client.files_upload_v2(content=b"%PDF-1.7", filename="invoice.pdf")["file"]["id"]
    pending = start_upload(http, slack, "pending.png", PNG)  # never completed
    context = {"type": "context", "elements": [image({"id": "F0NOSUCH"})]}
    cases = [
        (picture(pdf), "/blocks/0/slack_file"),
        (picture(pending), "/blocks/0/slack_file"),
        ([context], "/blocks/0/elements/0/slack_file"),
    ]
    for blocks, pointer in cases:
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel="C1", text="r", blocks=blocks)
        assert err.value.response["errors"] == [f"invalid slack file [json-pointer:{pointer}]"]
    gif = client.files_upload_v2(content=b"GIF89a", filename="spin.GIF")["file"]["id"]
    assert client.chat_postMessage(channel="C1", text="r", blocks=picture(gif))["ok"]


def test_blockkit_takes_exactly_one_image_source() -> None:
    def problems(*blocks: dict[str, Any]) -> list[str]:
        return validate_message({"text": "t", "blocks": list(blocks)})

    assert problems(image({"id": "F1"})) == []
    assert problems(image({"url": "https://files.slack.com/files-pri/T1-F1/a.png"})) == []
    assert problems(image({"id": "F1"}, title={"type": "plain_text", "text": "t"})) == []
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "s"}}
    assert problems({**section, "accessory": image({"id": "F1"})}) == []
    assert problems({"type": "context", "elements": [image({"id": "F1"})]}) == []

    both = image({"id": "F1"}, image_url="https://e.x/a.png")
    assert problems(both) == ["/blocks/0: image takes image_url or slack_file, not both"]
    assert problems({**section, "accessory": both}) == [
        "/blocks/0/accessory: image takes image_url or slack_file, not both"
    ]
    assert problems({"type": "image", "alt_text": "a"}) == [
        "/blocks/0: image needs image_url or slack_file"
    ]
    assert problems(image({"id": "F1", "url": "https://e.x/a.png"})) == [
        "/blocks/0/slack_file: slack_file needs exactly one of id or url"
    ]
    assert problems(image({})) == [
        "/blocks/0/slack_file: slack_file needs exactly one of id or url"
    ]
    assert problems(image({"id": "F1", "name": "a.png"})) == [
        "/blocks/0/slack_file/name: unknown slack_file field"
    ]
    assert problems(image({"id": ""})) == ["/blocks/0/slack_file/id: 0 chars < 1"]
    assert problems({"type": "image", "slack_file": "F1", "alt_text": "a"}) == [
        "/blocks/0/slack_file: expected a slack file object, got str"
    ]
    no_alt = {"type": "image", "slack_file": {"id": "F1"}}
    assert problems(no_alt) == ["/blocks/0/alt_text: expected a string, got null"]


# errors, step by step --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"length": 10}, "invalid_arguments"),
        ({"filename": "a.png"}, "invalid_arguments"),
        ({"filename": "a.png", "length": "ten"}, "invalid_arguments"),
        ({"filename": "a.png", "length": 1.5}, "invalid_arguments"),
        ({"filename": "a.png", "length": -1}, "invalid_arguments"),
        ({"filename": "a.png", "length": 0}, "missing_argument"),
        ({"filename": "a.png", "length": 1024**3 + 1}, "file_upload_size_restricted"),
        ({"filename": "a.png", "length": 3, "alt_txt": "x" * 1001}, "alt_txt_too_large"),
    ],
)
def test_get_upload_url_checks_its_arguments(
    slack: SlackStandIn, http: httpx.Client, params: dict[str, Any], error: str
) -> None:
    got = call(http, slack, "files.getUploadURLExternal", **params)
    assert (got["ok"], got["error"]) == (False, error)
    assert slack.files == []


def test_get_upload_url_takes_form_and_query_arguments(
    slack: SlackStandIn, http: httpx.Client
) -> None:
    form = http.post(
        slack.api_url + "files.getUploadURLExternal",
        data={"filename": "a.png", "length": "3"},
        headers=BEARER,
    ).json()
    query = http.get(
        slack.api_url + "files.getUploadURLExternal",
        params={"filename": "b.png", "length": str(1024**3)},
        headers=BEARER,
    ).json()
    assert form["upload_url"] == f"{slack.base_url}/upload/{form['file_id']}"
    assert query["ok"] is True and form["file_id"] != query["file_id"]
    missing = call(http, slack, "files.getUploadURLExternal", length=3)["response_metadata"]
    assert missing["messages"] == ["[ERROR] missing required field: filename"]


def test_the_upload_url_takes_exactly_the_announced_bytes(
    slack: SlackStandIn, http: httpx.Client
) -> None:
    got = call(http, slack, "files.getUploadURLExternal", filename="a.png", length=len(PNG))
    upload_url, file_id = got["upload_url"], got["file_id"]
    assert http.post(upload_url, content=PNG[:-1]).status_code == 400
    assert http.post(upload_url, content=PNG + b"x").status_code == 400
    record = slack.file(file_id)
    assert record is not None and record.content is None and record.uploaded_at is None
    assert http.get(upload_url).status_code == 405
    assert http.post(f"{slack.base_url}/upload/F0NOSUCH", content=PNG).status_code == 404

    # A multipart form with a `file` field is taken too (what curl -F sends).
    r = http.post(upload_url, files={"file": ("a.png", PNG, "image/png")})
    assert (r.status_code, r.text) == (200, f"OK - {len(PNG)}")
    record = slack.file(file_id)
    assert record is not None and record.content == PNG
    r = http.post(upload_url, files={"other": ("a.png", PNG)}, data={"note": "x"})
    assert r.status_code == 200  # any part with a filename is the file
    r = http.post(upload_url, data={"note": "x"}, files={"note2": (None, b"x")})
    assert r.status_code == 400  # a form without a file part

    assert call(http, slack, "files.completeUploadExternal", files=[{"id": file_id}])["ok"]
    assert http.post(upload_url, content=PNG).status_code == 404  # the ticket is spent


def test_complete_upload_refuses_unknown_unuploaded_and_completed_files(
    slack: SlackStandIn, http: httpx.Client
) -> None:
    announced = call(http, slack, "files.getUploadURLExternal", filename="a.png", length=3)
    for files in ([{"id": "F0NOSUCH"}], [{"id": announced["file_id"]}]):
        got = call(http, slack, "files.completeUploadExternal", files=files)
        assert (got["ok"], got["error"]) == (False, "file_not_found")
    file_id = start_upload(http, slack, "b.png", PNG)
    done = call(http, slack, "files.completeUploadExternal", files=[{"id": file_id, "title": "B"}])
    assert done["ok"] is True and done["files"][0]["title"] == "B"
    again = call(http, slack, "files.completeUploadExternal", files=[{"id": file_id}])
    assert again["error"] == "file_not_found"  # it can be completed once
    pending = slack.file(announced["file_id"])
    assert pending is not None and not pending.complete


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"files": "not json"}, "invalid_arguments"),
        ({"files": []}, "invalid_arguments"),
        ({"files": [{"title": "no id"}]}, "invalid_arguments"),
        ({"files": None}, "invalid_arguments"),
        ({"channel_id": "U0SANDBOX"}, "invalid_channel"),
        ({"channels": "C1,C2", "thread_ts": "1.000001"}, "invalid_arguments"),
        ({"channel_id": "C1", "blocks": [{"type": "nope"}]}, "invalid_blocks"),
    ],
)
def test_complete_upload_checks_its_arguments(
    slack: SlackStandIn, http: httpx.Client, params: dict[str, Any], error: str
) -> None:
    file_id = start_upload(http, slack, "a.png", PNG)
    params = {"files": [{"id": file_id}], **params}
    got = call(http, slack, "files.completeUploadExternal", **params)
    assert (got["ok"], got["error"]) == (False, error)
    record = slack.file(file_id)
    assert record is not None and not record.complete  # a refused call changes nothing


def test_complete_upload_with_blocks_or_initial_comment(
    slack: SlackStandIn, http: httpx.Client
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*receipt*"}}]
    first = start_upload(http, slack, "a.png", PNG)
    second = start_upload(http, slack, "b.png", PNG)
    call(http, slack, "files.completeUploadExternal", files=[{"id": first}], channel_id="D0X")
    both = [{"id": first}, {"id": second}]
    got = call(http, slack, "files.completeUploadExternal", files=both, channel_id="C1")
    assert got["error"] == "file_not_found"  # all or nothing: the first is already done
    done = call(
        http,
        slack,
        "files.completeUploadExternal",
        files=[{"id": second}],
        channel_id="C1",
        blocks=blocks,
    )
    assert done["ok"] is True
    [with_blocks] = slack.messages_in("C1")
    assert with_blocks["blocks"] == blocks and with_blocks["text"] == ""
    third = start_upload(http, slack, "c.png", PNG)
    form = {
        "files": f'[{{"id": "{third}"}}]',
        "channel_id": "C1",
        "initial_comment": "here it is",
        "blocks": '[{"type": "divider"}]',
    }
    r = http.post(slack.api_url + "files.completeUploadExternal", data=form, headers=BEARER)
    assert r.json()["ok"] is True
    commented = slack.messages_in("C1")[-1]
    assert commented["text"] == "here it is" and "blocks" not in commented  # the comment wins
    [dm] = slack.messages_in("D0X")
    assert [f["id"] for f in dm["files"]] == [first]
    info = call(http, slack, "files.info", file=first)["file"]
    assert info["ims"] == ["D0X"] and info["shares"]["private"]["D0X"][0]["ts"] == dm["ts"]


def test_files_info_and_delete_errors(slack: SlackStandIn, http: httpx.Client) -> None:
    pending = start_upload(http, slack, "a.png", PNG)
    for method in ("files.info", "files.delete"):
        assert call(http, slack, method, file="F0NOSUCH")["error"] == "file_not_found"
        assert call(http, slack, method)["error"] == "file_not_found"
        assert call(http, slack, method, file=pending)["error"] == "file_not_found"
