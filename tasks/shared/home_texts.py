"""What the Home tab says about a person's recent lookups, in English and Chinese."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.shared.texts import is_chinese


@dataclass(frozen=True)
class HomeTexts:
    recent_title: str
    recent_empty: str
    recent_ids: str
    recent_report: str
    more_ids: str
    again_button: str


EN = HomeTexts(
    recent_title="*Your recent lookups*",
    recent_empty="No lookups yet. Type `/invoice` with invoice ids or a report code, "
    "or send them to me here.",
    recent_ids="{what} · {when} · {found} of {asked} found",
    recent_report="Report {what} · {when} · {found} invoice(s)",
    more_ids="+{count} more",
    again_button="Look up again",
)

ZH = HomeTexts(
    recent_title="*您最近的查询*",
    recent_empty="还没有查询记录。输入 `/invoice` 加发票号或单据编号，或直接在这里发给我。",
    recent_ids="{what} · {when} · 找到 {found}/{asked} 张",
    recent_report="单据 {what} · {when} · {found} 张发票",
    more_ids="另 {count} 个",
    again_button="再查一次",
)


def home_texts_for(language: str | None = None) -> HomeTexts:
    return ZH if is_chinese(language) else EN
