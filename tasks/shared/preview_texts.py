"""A file preview's words, in both languages: where it went, what it shows, and for each way
a preview can fail, what the person can do instead.

mrkdwn templates; a file name is Ekuaibao's text and is neutralised by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.shared.texts import is_chinese


@dataclass(frozen=True)
class PreviewTexts:
    sent_dm: str
    sent_thread: str
    caption: str
    more_pages: str
    fields_title: str
    field_seller: str
    field_total: str
    field_number: str
    differs: str
    no_record: str
    no_fields: str
    not_found: str
    unavailable: str
    upload_failed: str
    open_file: str
    #: One sentence per `tasks.files.PreviewFailed` reason; `{name}` is the file.
    failures: dict[str, str]
    #: What the person can do after any failure.
    instead: str


EN = PreviewTexts(
    sent_dm=":frame_with_picture: The preview of *{name}* is in your DM with me.",
    sent_thread=":frame_with_picture: The preview of *{name}* is in the review card's thread.",
    caption=(
        ":frame_with_picture: *{name}*, page {first}–{last} of {pages}. A copy in Slack: "
        "I delete it {deletes}."
    ),
    more_pages="Only the first {shown} pages are shown: open the file for the rest.",
    fields_title=":page_facing_up: What *{name}* says:",
    field_seller="Seller (销售方)",
    field_total="Total incl. tax (价税合计)",
    field_number="Number (发票号码)",
    differs=(
        ":warning: {field} differs from Ekuaibao's record: the file says {file}, Ekuaibao {ours}."
    ),
    no_record="Ekuaibao has no record of this invoice's fields to compare them with.",
    no_fields=":page_facing_up: *{name}* holds no invoice fields I can read.",
    not_found=(
        "That file is no longer on this invoice, or it is not yours to see. Look the invoice "
        "up again with `/invoice`."
    ),
    unavailable=(
        "Ekuaibao could not be reached for a fresh link just now: try Preview again in a minute."
    ),
    upload_failed=(
        "Slack would not take the preview just now: try again in a minute, or open the file "
        "with its button."
    ),
    open_file="Open {name}",
    failures={
        "too_big": "*{name}* is too large to preview.",
        "too_slow": "*{name}* took too long to render, so I stopped.",
        "too_much_memory": "*{name}* needs too much memory to render, so I stopped.",
        "too_many_pixels": "*{name}* has a page too large to show as a picture.",
        "unreadable": "*{name}* could not be read: it may be damaged.",
        "unsupported": "*{name}* is a kind of file I cannot preview.",
        "redirected": (
            "*{name}*'s link pointed away from Ekuaibao's file store, so I did not follow it."
        ),
        "download_failed": "*{name}* could not be downloaded from Ekuaibao just now.",
    },
    instead="Open it with the button below (the link is fresh), or in Ekuaibao.",
)

ZH = PreviewTexts(
    sent_dm=":frame_with_picture: *{name}* 的预览已发到您与我的私信中。",
    sent_thread=":frame_with_picture: *{name}* 的预览已发到审批卡片的讨论串中。",
    caption=(
        ":frame_with_picture: *{name}*，第 {first}–{last} 页，共 {pages} 页。"
        "Slack 中的副本将于 {deletes} 删除。"
    ),
    more_pages="仅显示前 {shown} 页：其余页面请打开文件查看。",
    fields_title=":page_facing_up: *{name}* 中的内容：",
    field_seller="销售方",
    field_total="价税合计",
    field_number="发票号码",
    differs=":warning: {field}与合思记录不一致：文件为 {file}，合思为 {ours}。",
    no_record="合思没有这张发票的字段记录，无法比对。",
    no_fields=":page_facing_up: *{name}* 中没有可读取的发票字段。",
    not_found="该文件已不在这张发票上，或您无权查看。请用 `/invoice` 重新查询这张发票。",
    unavailable="暂时无法从合思获取新链接：请稍后再点「预览」。",
    upload_failed="Slack 暂时无法接收预览：请稍后重试，或用按钮打开文件。",
    open_file="打开 {name}",
    failures={
        "too_big": "*{name}* 过大，无法预览。",
        "too_slow": "*{name}* 渲染时间过长，已停止。",
        "too_much_memory": "*{name}* 渲染所需内存过多，已停止。",
        "too_many_pixels": "*{name}* 的页面过大，无法显示为图片。",
        "unreadable": "*{name}* 无法读取：文件可能已损坏。",
        "unsupported": "*{name}* 的文件类型无法预览。",
        "redirected": "*{name}* 的链接指向合思文件存储以外的地址，未予访问。",
        "download_failed": "暂时无法从合思下载 *{name}*。",
    },
    instead="请用下方按钮打开（链接是新的），或在合思中查看。",
)


def preview_texts_for(language: str | None = None) -> PreviewTexts:
    return ZH if is_chinese(language) else EN
