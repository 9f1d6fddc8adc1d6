"""The invoice card's own words (labels without mrkdwn, warnings), in both languages.

Kept beside `texts.py` so the card's words can grow without touching the main catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.shared import texts as lookup
from tasks.shared.texts import Texts


@dataclass(frozen=True)
class CardTexts:
    seller_tax_id: str
    buyer_tax_id: str
    remarks: str
    lines_total: str
    excl_and_tax: str
    discount: str
    spec: str
    quantity: str
    unit_price: str
    unreadable: str
    shortened: str
    link_too_long: str
    more_attachments: str
    open_named: str
    not_found_shared: str
    fallback_invoice: str
    fallback_next: str
    field_names: dict[str, str]
    #: Ekuaibao's risk tags on one invoice: `{tags}` joins `risk_tag` (or the bare name).
    risk_flags: str
    risk_tag: str
    picture_too_long: str
    preview_named: str
    risk_kinds: dict[str, str]


EN = CardTexts(
    seller_tax_id="Seller tax id (纳税人识别号)",
    buyer_tax_id="Buyer tax id (纳税人识别号)",
    remarks="Remarks (备注)",
    lines_total="Line items' total (明细合计)",
    excl_and_tax="Excl. tax {amount} · Tax {tax}",
    discount=" (discount)",
    spec="Spec/model",
    quantity="Qty",
    unit_price="Unit price",
    unreadable=(
        ":warning: Ekuaibao sent values we could not read for: {fields}. They show as —: "
        "check them on the invoice in Ekuaibao."
    ),
    shortened=":scissors: Some long values are shortened (…): Ekuaibao has the full text.",
    link_too_long=(
        ":paperclip: {name} · {kind}: its link is too long for Slack. Press *Refresh links*, "
        "or open the invoice in Ekuaibao."
    ),
    more_attachments=(
        ":paperclip: {count} more attachment(s) not shown here: look this invoice up on its "
        "own to get them all."
    ),
    open_named="Open {name}",
    not_found_shared="*Not found in Ekuaibao ({count}):* {ids}",
    fallback_invoice="{id}: {total}",
    fallback_next=(
        "Slack could not show the full reply: run /invoice again with these ids, or open them "
        "in Ekuaibao."
    ),
    field_names={
        "amount": "amount",
        "tax": "tax",
        "quantity": "quantity",
        "unit_price": "unit price",
        "total": "total incl. tax",
        "issued": "issue date",
        "verified": "verification",
        "seller": "seller",
        "buyer": "buyer",
        "code": "code",
        "number": "number",
        "category": "category",
        "report": "report",
        "seller_tax_id": "seller tax id",
        "buyer_tax_id": "buyer tax id",
        "remarks": "remarks",
    },
    risk_flags=":triangular_flag_on_post: Ekuaibao's risk check flags this invoice: {tags}",
    risk_tag="{words} ({name})",
    picture_too_long=(
        ":frame_with_picture: {name}: its picture's link is too long for Slack to show; "
        "open the file with its button."
    ),
    risk_kinds={"INVOICE_REPEAT_VERIFICATION": "suspected duplicate invoice"},
    preview_named="Preview {name}",
)

ZH = CardTexts(
    seller_tax_id="销售方纳税人识别号",
    buyer_tax_id="购买方纳税人识别号",
    remarks="备注",
    lines_total="明细合计",
    excl_and_tax="不含税 {amount} · 税额 {tax}",
    discount="（折扣行）",
    spec="规格型号",
    quantity="数量",
    unit_price="单价",
    unreadable=":warning: 合思发来的以下数值无法识别：{fields}。显示为 —，请在合思中核对发票。",
    shortened=":scissors: 部分过长的内容已截断（…），完整内容请在合思中查看。",
    link_too_long=(
        ":paperclip: {name} · {kind}：链接过长，Slack 无法显示。"
        "请点击「*刷新链接*」，或在合思中打开发票。"
    ),
    more_attachments=":paperclip: 还有 {count} 个附件未显示：单独查询这张发票即可看到全部。",
    open_named="打开 {name}",
    not_found_shared="*合思中未找到（{count}）：* {ids}",
    fallback_invoice="{id}：{total}",
    fallback_next="Slack 无法显示完整回复：请用这些 id 重新运行 /invoice，或在合思中打开。",
    field_names={
        "amount": "金额",
        "tax": "税额",
        "quantity": "数量",
        "unit_price": "单价",
        "total": "价税合计",
        "issued": "开票日期",
        "verified": "验真",
        "seller": "销售方",
        "buyer": "购买方",
        "code": "发票代码",
        "number": "发票号码",
        "category": "发票类别",
        "report": "单据",
        "seller_tax_id": "销售方纳税人识别号",
        "buyer_tax_id": "购买方纳税人识别号",
        "remarks": "备注",
    },
    risk_flags=":triangular_flag_on_post: 合思风险检查标记了这张发票：{tags}",
    risk_tag="{words}（{name}）",
    picture_too_long=(
        ":frame_with_picture: {name}：图片链接过长，Slack 无法显示；请用按钮打开文件。"
    ),
    risk_kinds={"INVOICE_REPEAT_VERIFICATION": "疑似重复发票"},
    preview_named="预览 {name}",
)


def card_texts(texts: Texts) -> CardTexts:
    """The card's words in the language of `texts`."""
    return ZH if texts is lookup.ZH else EN
