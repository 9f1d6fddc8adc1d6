"""A data file's fields beside Ekuaibao's record, and the sweep that deletes old previews."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from tasks.ekuaibao.masters import InvoiceMaster
from tasks.kv import SQLiteKV
from tasks.preview.deps import PreviewDeps
from tasks.preview.fields import fields_text
from tasks.preview.retention import SWEEP_EVERY_S, sweep, sweep_every_s
from tasks.shared.preview_texts import preview_texts_for
from tasks.state.previews import UploadedPreviews
from tasks.summary import InvoiceSummary

DATA = Path(__file__).resolve().parents[4] / "sandbox" / "data"
VAT = InvoiceMaster.from_api(
    "invoice", json.loads((DATA / "invoice-master.by-type.json").read_text())["invoice"]
)
INVOICE = InvoiceSummary(VAT.invoice_id, (), (), VAT)
EN, ZH = preview_texts_for("en"), preview_texts_for("zh")


def test_fields_that_agree_with_ekuaibao_are_shown_without_warnings() -> None:
    assert VAT.seller and VAT.total is not None and VAT.number
    fields = {"seller": VAT.seller, "total": str(VAT.total), "number": VAT.number}
    text = fields_text(fields, INVOICE, "发票.xml", EN)
    assert VAT.seller in text and "¥171.00" in text and VAT.number in text
    assert "differs" not in text


def test_each_field_that_differs_is_warned_about() -> None:
    fields = {"seller": "某某公司 *粗体*", "total": "1,171.00", "number": "1"}
    text = fields_text(fields, INVOICE, "发票.xml", ZH)
    assert text.count(":warning:") == 3
    assert "价税合计与合思记录不一致：文件为 ¥1,171.00，合思为 ¥171.00" in text
    assert "*粗体*" not in text  # the file's text is neutralised


def test_a_total_that_is_not_a_number_is_shown_as_text_and_warned() -> None:
    text = fields_text({"total": "NaN"}, INVOICE, "a.xml", EN)
    assert "Total incl. tax (价税合计): NaN" in text and ":warning:" in text


def test_a_file_without_fields_says_so() -> None:
    assert "holds no invoice fields" in fields_text({}, INVOICE, "a.xml", EN)
    assert "holds no invoice fields" in fields_text({"other": "x"}, INVOICE, "a.xml", EN)


class Slack:
    def __init__(self, gone: set[str], failing: set[str]) -> None:
        self.deleted: list[str] = []
        self.gone, self.failing = gone, failing

    def files_delete(self, *, file: str) -> None:
        if file in self.gone or file in self.failing:
            error = "file_not_found" if file in self.gone else "internal_error"
            response = SlackResponse(
                client=None,
                http_verb="POST",
                api_url="",
                req_args={},
                data={"ok": False, "error": error},
                headers={},
                status_code=200,
            )
            raise SlackApiError(error, response)
        self.deleted.append(file)


def test_the_sweep_deletes_what_is_due_once_a_turn(tmp_path: Path) -> None:
    now = [1_000_000.0]
    kv = SQLiteKV(tmp_path / "p.sqlite3", clock=lambda: now[0])
    uploaded = UploadedPreviews(kv)
    for file_id, at in (("F1", 10.0), ("F2", 20.0), ("F3", 5.0), ("F4", 2e6), ("F5", 1.0)):
        uploaded.remember(file_id, at, keep_s=3600)
    slack = Slack(gone={"F3"}, failing={"F5"})
    deps = cast(
        PreviewDeps,
        SimpleNamespace(uploaded=uploaded, slack=slack, clock=lambda: now[0], keep_s=3600.0),
    )
    assert sweep(deps, "a") == 3  # F1, F2 deleted; F3 already gone; F5 failed
    assert slack.deleted == ["F1", "F2"]
    assert sorted(uploaded.due(now[0])) == ["F5"]  # tried again at the next turn
    assert sweep(deps, "b") == 0  # another process in the same turn does nothing
    now[0] += sweep_every_s(3600.0) + 1
    slack.failing.clear()
    assert sweep(deps, "b") == 1 and slack.deleted == ["F1", "F2", "F5"]
    assert uploaded.due(now[0] + 2e6) == ["F4"]


def test_a_short_keep_is_swept_more_often_than_a_long_one() -> None:
    assert sweep_every_s(24 * 3600) == SWEEP_EVERY_S
    assert sweep_every_s(8.0) == 2.0 and sweep_every_s(0.1) == 1.0
