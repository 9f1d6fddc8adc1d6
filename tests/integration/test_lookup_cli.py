"""`invoicebot lookup` run as a subprocess against the Ekuaibao stand-in, without any Slack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.blockkit import validate_message
from sandbox.ekuaibao import DEMO_INVOICE_IDS, REPORT_CODE, EkuaibaoStandIn
from sandbox.terminal import to_text
from tasks.ekuaibao.session import CALL_TRIES_MAX
from tests.integration.harness import free_port

APP_KEY = "lookup-app-key"
APP_SECURITY = "lookup-app-security"
MISSING = "djg8LshfUkfM00:044031900111:00000000"


@pytest.fixture
def ekuaibao_api() -> Iterator[EkuaibaoStandIn]:
    with EkuaibaoStandIn(app_key=APP_KEY, app_security=APP_SECURITY) as standin:
        yield standin


def lookup(
    ekuaibao: EkuaibaoStandIn, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "EKUAIBAO_", "CELERY_", "STATE_DIR", "BOT_"))
    }
    clean.update(
        EKUAIBAO_BASE_URL=ekuaibao.base_url,
        EKUAIBAO_APP_KEY=APP_KEY,
        EKUAIBAO_APP_SECURITY=APP_SECURITY,
        EKUAIBAO_TIMEOUT_S="2",
        STATE_DIR=str(tmp_path / "state"),
    )
    clean.update(env)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "lookup", *args],
        env={k: v for k, v in clean.items() if v != ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    for secret in (APP_KEY, APP_SECURITY, "accessToken"):
        assert secret not in out
    return result


def test_ids_print_the_reply_as_a_person_reads_it(ekuaibao_api, tmp_path) -> None:
    result = lookup(ekuaibao_api, tmp_path, *DEMO_INVOICE_IDS)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = result.stdout
    assert "Found 5 of 6 invoices." in text
    assert "🧾 Invoice 033002100311 · No. 23272058" in text
    assert "(discount)" in text and "-110.62" in text  # the discount line stays negative
    assert MISSING in text.split("Not found")[-1]
    assert "[ Refresh links ]  [ Share in channel ]" in text
    # the signed links are there for the admin, freshly signed by Ekuaibao
    served = ekuaibao_api.signed_urls_served()
    assert served and "[ Open PDF ] → http://127.0.0.1:" in text


def test_json_is_the_block_kit_the_worker_would_post(ekuaibao_api, tmp_path) -> None:
    result = lookup(ekuaibao_api, tmp_path, "--json", *DEMO_INVOICE_IDS)
    assert result.returncode == 0, result.stderr
    messages = json.loads(result.stdout)
    assert len(messages) >= 1
    for message in messages:
        assert validate_message(message) == []
        assert message["text"]
    links = [
        block["accessory"]["url"]
        for message in messages
        for block in message["blocks"]
        if block.get("accessory", {}).get("url")
    ]
    assert set(links) <= set(ekuaibao_api.signed_urls_served()) and links
    # the text form is this Block Kit as sandbox/terminal.py shows it
    assert "Found 5 of 6 invoices." in to_text(messages[0])
    refresh = [
        e
        for block in messages[-1]["blocks"]
        if block["type"] == "actions"
        for e in block["elements"]
        if e["action_id"] == "refresh_links"
    ]
    assert json.loads(refresh[0]["value"])["i"]  # redoes exactly these ids


def test_a_report_and_its_pages(ekuaibao_api, tmp_path) -> None:
    result = lookup(ekuaibao_api, tmp_path, "--report", REPORT_CODE)
    assert result.returncode == 0, result.stderr
    assert f"Report {REPORT_CODE}" in result.stdout
    assert "Invoices 1–5 of 5" in result.stdout
    searches = ekuaibao_api.calls_to("/flow/INVOICE/search")
    assert searches[0].body == {"type": "code", "codeOrIds": [REPORT_CODE]}
    beyond = lookup(ekuaibao_api, tmp_path, "--report", REPORT_CODE, "--page", "2")
    assert beyond.returncode == 1 and beyond.stdout == ""
    assert beyond.stderr.splitlines() == [
        f"invoicebot: report {REPORT_CODE} has 5 invoice(s) on 1 page(s): --page 2 is past its end"
    ]


def test_chinese(ekuaibao_api, tmp_path) -> None:
    result = lookup(ekuaibao_api, tmp_path, "--language", "zh", DEMO_INVOICE_IDS[0])
    assert result.returncode == 0, result.stderr
    assert "发票" in result.stdout and "Found" not in result.stdout
    by_setting = lookup(ekuaibao_api, tmp_path, DEMO_INVOICE_IDS[0], BOT_LANGUAGE="zh")
    assert by_setting.stdout.splitlines()[0] == result.stdout.splitlines()[0]


def test_an_unknown_report_prints_the_bots_answer_and_exits_1(ekuaibao_api, tmp_path) -> None:
    result = lookup(ekuaibao_api, tmp_path, "--report", "B99999999")
    assert result.returncode == 1
    assert result.stdout.strip() == (
        "🔍 No report `B99999999` in Ekuaibao. Check the code (like `B23001249`) or use the "
        "report's id."
    )


def test_rejected_credentials_are_one_line(ekuaibao_api, tmp_path) -> None:
    result = lookup(ekuaibao_api, tmp_path, DEMO_INVOICE_IDS[0], EKUAIBAO_APP_SECURITY="nope-nope")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "invoicebot: Ekuaibao rejected the credentials: check EKUAIBAO_APP_KEY, "
        "EKUAIBAO_APP_SECURITY and EKUAIBAO_BASE_URL (`invoicebot doctor` tells which)"
    ]
    assert "nope-nope" not in result.stderr


def test_unreachable_or_failing_ekuaibao_is_one_line_after_quick_repeats_only(
    ekuaibao_api, tmp_path
) -> None:
    down = lookup(
        ekuaibao_api,
        tmp_path,
        DEMO_INVOICE_IDS[0],
        EKUAIBAO_BASE_URL=f"http://127.0.0.1:{free_port()}",
    )
    assert down.returncode == 1 and down.stdout == ""
    assert down.stderr.splitlines() == [
        "invoicebot: could not reach Ekuaibao (ConnectError): check EKUAIBAO_BASE_URL and the "
        "network, or try again"
    ]
    before = len(ekuaibao_api.calls_to("detailBatch"))
    ekuaibao_api.fail_next(1, status=502, paths="detailBatch")
    repeated = lookup(ekuaibao_api, tmp_path, DEMO_INVOICE_IDS[0])
    assert repeated.returncode == 0  # one failed call is repeated at once
    assert len(ekuaibao_api.calls_to("detailBatch")) == before + 2
    ekuaibao_api.fail_next(CALL_TRIES_MAX, status=502, paths="detailBatch")  # every try fails
    failing = lookup(ekuaibao_api, tmp_path, DEMO_INVOICE_IDS[0])
    ekuaibao_api.reset_faults()
    assert failing.returncode == 1
    assert len(failing.stderr.splitlines()) == 1
    assert "Ekuaibao answered HTTP 502" in failing.stderr
    tries = len(ekuaibao_api.calls_to("detailBatch")) - before - 2
    assert 6 <= tries <= CALL_TRIES_MAX  # repeated for the window after its first failure


def test_no_slack_settings_needed_but_ekuaibao_ones_are(ekuaibao_api, tmp_path) -> None:
    result = lookup(ekuaibao_api, tmp_path, DEMO_INVOICE_IDS[0], EKUAIBAO_APP_KEY="")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "invoicebot: setting EKUAIBAO_APP_KEY is missing: set it in the environment or in .env"
    ]
    assert ekuaibao_api.calls == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["not/an/id"], "invoicebot: not an Ekuaibao id: not/an/id"),
        ([f"ID{n:012d}" for n in range(21)], "invoicebot: at most 20 ids at a time (got 21)"),
        (["--report", REPORT_CODE, "--page", "0"], "invoicebot: --page starts at 1"),
    ],
)
def test_bad_arguments_exit_2_without_calling_ekuaibao(ekuaibao_api, tmp_path, args, words) -> None:
    result = lookup(ekuaibao_api, tmp_path, *args)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(words)
    assert ekuaibao_api.calls == []


def test_verbose_logs_never_carry_the_signed_links(ekuaibao_api, tmp_path) -> None:
    result = lookup(ekuaibao_api, tmp_path, "--verbose", *DEMO_INVOICE_IDS, LOG_LEVEL="DEBUG")
    assert result.returncode == 0, result.stderr
    assert "fetched a new Ekuaibao access token" in result.stderr  # it did log
    served = ekuaibao_api.signed_urls_served()
    assert served
    for url in served:
        assert url.split("?")[0] not in result.stderr
    assert "Signature=" not in result.stderr and "OSSAccessKeyId" not in result.stderr


def test_a_state_folder_it_cannot_make_is_one_line(ekuaibao_api, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = lookup(ekuaibao_api, tmp_path, DEMO_INVOICE_IDS[0], STATE_DIR=str(blocker / "state"))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "invoicebot: could not set up the lookup (NotADirectoryError): check STATE_DIR and "
        "CELERY_BROKER_URL (`invoicebot doctor` checks both)"
    ]
