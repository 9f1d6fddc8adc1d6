"""Every sentence the bot shows a person, in one place per language.

Values are mrkdwn templates; anything that comes from Ekuaibao or a user is escaped by the
caller before it is formatted in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Texts:
    # acknowledgements (the bot, within Slack's 3 s)
    looking_up_one: str
    looking_up_many: str
    usage: str
    too_many: str
    malformed: str
    cannot_queue: str
    # the reply
    summary: str
    summary_none: str
    links_note: str
    continued: str
    invoice_title: str
    digital_invoice_title: str
    raw_title: str
    line: str
    no_lines: str
    no_lines_invoice: str
    totals_amount: str
    totals_tax: str
    totals_total: str
    totals_incomplete: str
    attachment: str
    open_button: str
    no_attachment: str
    kinds: dict[str, str]
    not_found: str
    not_found_or_denied: str
    not_allowed: str
    #: Slack says this person is a guest, from another organisation, deactivated or a bot.
    not_member: str
    shared_channel: str
    #: A share into a conversation the bot cannot check (say, a DM between two people).
    share_unverified: str
    too_long: str
    fallback: str
    # failures
    credentials_rejected: str
    unavailable: str
    bad_request: str
    internal_error: str
    retrying: str
    queued: str
    queued_own: str
    # other entry points (issue 3)
    dm_hint: str
    mention_hint: str
    shortcut_nothing_found: str
    report_usage: str
    # buttons and sharing
    refresh_button: str
    share_button: str
    get_links_button: str
    show_more_button: str
    shared_by: str
    not_yours: str
    not_yours_preview: str
    refreshed: str
    # reports
    report_title: str
    report_title_with_name: str
    report_submitter: str
    report_state: str
    report_submitted: str
    report_total: str
    report_invoices: str
    report_count: str
    report_page: str
    report_not_found: str
    report_empty: str
    report_more: str
    states: dict[str, str]
    # invoice header (from the invoice master)
    header_seller: str
    header_buyer: str
    header_code_number: str
    header_number: str
    header_issued: str
    header_category: str
    header_verified: str
    verified_yes: str
    verified_no: str
    header_total: str
    header_amount: str
    header_mismatch: str
    categories: dict[str, str]
    ticket_types: dict[str, str]
    # issue 12: a report page's own sum; keeping a reply in the person's DM
    report_sum_page: str
    keep_button: str


EN = Texts(
    looking_up_one=":mag: Looking up 1 invoice…",
    looking_up_many=":mag: Looking up {count} invoices…",
    usage=(
        "*Look up Ekuaibao invoices*\n"
        "`/invoice &lt;id&gt; [&lt;id&gt; …]` shows each invoice's line items, totals and "
        "freshly signed attachment links, privately to you.\n"
        "Separate ids with spaces, commas or new lines; up to {limit} at a time. Ids look like "
        "`djg8LshfUkfM00:033002100311:23272058`, `Tdk3tgber501v0::23312000000123878916:2` "
        "or `ID01xO4jZjprrx`: copy them from the invoice in Ekuaibao (合思)."
    ),
    too_many=(
        ":warning: That's {count} ids; I can look up at most {limit} at a time. "
        "Split them over a few `/invoice` commands."
    ),
    malformed=(
        ":warning: {tokens} {verb} not look like invoice ids, so I didn't look anything up. "
        "Ids use letters, digits and `: $ - _`. Fix or remove {them} and try again, "
        "or type `/invoice help`."
    ),
    cannot_queue=(
        ":warning: I can't queue your lookup right now. Please try again in a minute; "
        "if it keeps happening, tell your Slack admin."
    ),
    summary="*Found {found} of {requested} invoices.*",
    summary_none="*None of the {requested} ids were found in Ekuaibao.*",
    links_note=(
        ":link: Ekuaibao signs attachment links for one hour: these stop working "
        "{expires}. Run `/invoice` again for fresh ones."
    ),
    continued="Invoices (continued)",
    invoice_title="Invoice {code} · No. {number}",
    digital_invoice_title="Fully digital invoice No. {number}",
    raw_title="Invoice {id}",
    line=(
        "{n}. {name}\n"
        "      Spec/model: {spec} · Qty: {quantity} · Unit price: {unit_price} · "
        "Amount: *{amount}* · Tax rate: {tax_rate} · Tax: {tax}"
    ),
    no_lines=(
        "No line items: this is a ticket or receipt (taxi, train, flight…), "
        "so the attachment below is the document."
    ),
    no_lines_invoice="Ekuaibao has no line items for this invoice; the attachment below has them.",
    totals_amount="*Amount excl. tax*",
    totals_tax="*Tax*",
    totals_total="*Total incl. tax (CNY)*",
    totals_incomplete=":warning: {count} line(s) have no amount; the totals leave them out.",
    attachment=":paperclip: {name} · {kind} · link expires {expires}",
    open_button="Open {kind}",
    no_attachment=":paperclip: No attachment on file in Ekuaibao for this invoice.",
    kinds={"image": "Image", "pdf": "PDF", "ofd": "OFD", "xml": "XML", "file": "File"},
    not_found=(
        "*Not found in Ekuaibao ({count}):* {ids}\n"
        "Check each id for typos and copy it from the invoice in Ekuaibao (合思). The bot "
        "only sees your company's invoices."
    ),
    not_found_or_denied=(
        "*Not found, or not yours to see ({count}):* {ids}\n"
        "Check each id for typos. You can see the invoices of reports you submitted or "
        "approve; finance can see all of them."
    ),
    not_allowed=(
        ":lock: You're not set up to look up invoices with this bot. Ask your finance team "
        "or Slack admin to add you."
    ),
    not_member=(
        ":lock: Only full members of this Slack workspace with a confirmed email can see "
        "invoices or act on reports here, not guests or people from other organisations. "
        "If that's wrong, ask your Slack admin to check your account."
    ),
    shared_channel=(
        ":lock: This channel is shared with another organisation, so I won't post invoice "
        "details here. Ask me in a DM instead."
    ),
    share_unverified=(
        ":lock: I can't check who is in this conversation, so I won't share invoice details "
        "here. Share it in a channel I'm in, or keep it in your DM with me."
    ),
    too_long=":warning: {count} more line(s) not shown; open the invoice in Ekuaibao to see all.",
    fallback="Invoice lookup: {found} found, {missing} not found.",
    credentials_rejected=(
        ":no_entry: The bot's Ekuaibao credentials were rejected — ask your admin to check "
        "the bot's Ekuaibao app key and security. (ref `{ref}`)"
    ),
    unavailable=(
        ":hourglass: Ekuaibao didn't answer properly for {minutes} minute(s), so I couldn't "
        "look up your invoices. Please try again later; if it keeps happening, tell your "
        "admin. (ref `{ref}`)"
    ),
    bad_request=(
        ":warning: Ekuaibao refused the lookup: {reason}. Check the ids and try again; "
        "if they are right, tell your admin. (ref `{ref}`)"
    ),
    internal_error=(
        ":warning: Something went wrong on my side while looking up your invoices. Please "
        "try again; if it keeps happening, tell your admin. (ref `{ref}`)"
    ),
    retrying=(
        ":hourglass_flowing_sand: Ekuaibao is slow to answer; I'll keep trying for up to "
        "{minutes} minutes and post the result here."
    ),
    queued=(
        ":hourglass_flowing_sand: Lots of lookups right now: {ahead} ahead of yours. Yours "
        "should be ready in about {seconds} s; I'll post it here."
    ),
    queued_own=(
        ":hourglass_flowing_sand: {ahead} of your own lookups are ahead of this one. It starts "
        "as soon as one of them is done; I'll post it here."
    ),
    dm_hint=(
        "Send me invoice ids (like `djg8LshfUkfM00:033002100311:23272058` or `ID01xO4jZjprrx`) "
        "or a report code (`report B23001249`) and I'll look them up for you."
    ),
    mention_hint=(
        "Mention me with invoice ids or a report code (`report B23001249`) and I'll look them "
        "up for you, privately."
    ),
    shortcut_nothing_found=(
        ":mag: I found no invoice ids or report codes in that message. Ids look like "
        "`djg8LshfUkfM00:033002100311:23272058` or `ID01xO4jZjprrx`; reports like `B23001249`."
    ),
    report_usage="Give a report code or id after `report`, e.g. `/invoice report B23001249`.",
    refresh_button="Refresh links",
    share_button="Share in channel",
    get_links_button="Get my links",
    show_more_button="Show more",
    shared_by="Shared by <@{user}>. Attachment links are private: use *Get my links* for your own.",
    not_yours=(
        ":lock: Only the person who asked can refresh these links. Run `/invoice` yourself "
        "to get your own."
    ),
    not_yours_preview=(
        ":lock: Only the person who asked can preview these files. Run `/invoice` yourself "
        "to get your own Preview."
    ),
    refreshed=":arrows_counterclockwise: Links refreshed.",
    report_title="Report {code}",
    report_title_with_name="Report {code} · {title}",
    report_submitter="*Submitter*",
    report_state="*State*",
    report_submitted="*Submitted*",
    report_total="*Expense total*",
    report_invoices="*Invoices*",
    report_count="{count} invoice(s)",
    report_page="Invoices {first}–{last} of {total}",
    report_not_found=(
        ":mag: No report {code} in Ekuaibao. Check the code (like `B23001249`) or use the "
        "report's id."
    ),
    report_empty="Report {code} has no invoices attached.",
    report_more="{count} more invoice(s) in this report.",
    states={
        "draft": "Draft",
        "pending": "Pending",
        "approving": "In approval",
        "rejected": "Rejected",
        "paying": "Awaiting payment",
        "PROCESSING": "Payment processing",
        "paid": "Paid",
        "archived": "Archived",
        "sending": "Awaiting dispatch",
        "receiving": "Awaiting receipt",
        "nullify": "Voided",
    },
    header_seller="*Seller*",
    header_buyer="*Buyer*",
    header_code_number="*Code / number*",
    header_number="*Number*",
    header_issued="*Issued*",
    header_category="*Category*",
    header_verified="*Verified (验真)*",
    verified_yes=":white_check_mark: Verified",
    verified_no=":warning: Not verified",
    header_total="*Total incl. tax (价税合计)*",
    header_amount="*Amount*",
    header_mismatch=(
        ":warning: The line items add up to {lines}, but the invoice total (价税合计) is "
        "{total}: a difference of {difference}. Check the invoice before approving."
    ),
    categories={
        "FULL_DIGITAl_NORMAL": "Fully digital invoice (general)",
        "FULL_DIGITAl_SPECIAL": "Fully digital invoice (special VAT)",
        "FULL_DIGITAl_PAPER": "Fully digital invoice (paper, special VAT)",
        "FULL_DIGITAl_PAPER_NORMAL": "Fully digital invoice (paper, general)",
        "DIGITAL_NORMAL": "Electronic general VAT invoice",
        "DIGITAL_SPECIAL": "Electronic special VAT invoice",
        "PAPER_NORMAL": "Paper general VAT invoice",
        "PAPER_ROLL": "Paper roll VAT invoice",
        "PAPER_SPECIAL": "Paper special VAT invoice",
        "PAPER_CAR": "Motor vehicle sales invoice",
        "SECOND_CAR": "Used vehicle sales invoice",
        "PAPER_FEE": "Toll invoice",
        "BLOCK_CHAIN": "Blockchain invoice",
    },
    ticket_types={
        "invoice": "VAT invoice",
        "other": "Other receipt",
        "taxi": "Taxi receipt",
        "fixed": "Fixed-value invoice",
        "passengerCar": "Coach ticket",
        "machinePrint": "Machine-printed invoice",
        "shopping": "Shop receipt",
        "train": "Train ticket",
        "flightItinerary": "Flight itinerary",
        "tolls": "Toll receipt",
        "medical": "Medical invoice",
        "noTaxIncome": "Fiscal receipt (非税收入)",
    },
    report_sum_page=":heavy_minus_sign: invoices on this page add up to {sum}; "
    "the other pages are not counted",
    keep_button="Keep in my DMs",
)


ZH = Texts(
    looking_up_one=":mag: 正在查询 1 张发票…",
    looking_up_many=":mag: 正在查询 {count} 张发票…",
    usage=(
        "*查询合思发票*\n"
        "`/invoice &lt;id&gt; [&lt;id&gt; …]` "
        "会仅向你展示每张发票的明细、合计金额和新签发的附件链接。\n"
        "多个 id 用空格、逗号或换行分隔，每次最多 {limit} 个。id 形如 "
        "`djg8LshfUkfM00:033002100311:23272058`、`Tdk3tgber501v0::23312000000123878916:2` "
        "或 `ID01xO4jZjprrx`，可从合思中的发票上复制。"
    ),
    too_many=(
        ":warning: 共有 {count} 个 id，每次最多只能查询 {limit} 个。请分成几条 `/invoice` 命令。"
    ),
    # Chinese needs no "do/does" or "it/them": `.0` formats those English words as "".
    malformed=(
        ":warning: {tokens}{verb:.0}{them:.0} 看起来不像发票 id，所以没有查询。"
        "id 只包含字母、数字和 `: $ - _`。请修正或删除后重试，或输入 `/invoice help`。"
    ),
    cannot_queue=(
        ":warning: 暂时无法提交你的查询。请一分钟后重试；如果问题持续，请联系 Slack 管理员。"
    ),
    summary="*找到 {found} 张发票（共查询 {requested} 张）。*",
    summary_none="*在合思中没有找到这 {requested} 个 id 对应的发票。*",
    links_note=(
        ":link: 合思的附件链接有效期为一小时，这些链接将于 {expires} 失效。"
        "重新运行 `/invoice` 可获取新链接。"
    ),
    continued="发票（续）",
    invoice_title="发票 {code} · 号码 {number}",
    digital_invoice_title="数电发票 号码 {number}",
    raw_title="发票 {id}",
    line=(
        "{n}. {name}\n"
        "      规格型号：{spec} · 数量：{quantity} · 单价：{unit_price} · "
        "金额：*{amount}* · 税率：{tax_rate} · 税额：{tax}"
    ),
    no_lines="没有明细：这是一张票据（出租车票、火车票、机票等），下方附件即为原件。",
    no_lines_invoice="合思中没有这张发票的明细，请查看下方附件。",
    totals_amount="*不含税金额*",
    totals_tax="*税额*",
    totals_total="*价税合计（人民币）*",
    totals_incomplete=":warning: 有 {count} 行明细没有金额，合计中未包含。",
    attachment=":paperclip: {name} · {kind} · 链接于 {expires} 失效",
    open_button="打开{kind}",
    no_attachment=":paperclip: 合思中没有这张发票的附件。",
    kinds={"image": "图片", "pdf": "PDF", "ofd": "OFD", "xml": "XML", "file": "文件"},
    not_found=(
        "*合思中未找到（{count}）：* {ids}\n"
        "请检查 id 是否有误，并从合思中的发票上复制。机器人只能查看本公司的发票。"
    ),
    not_found_or_denied=(
        "*未找到，或你无权查看（{count}）：* {ids}\n"
        "请检查单号是否有误。你可以查看自己提交或审批的单据中的发票；财务可以查看全部。"
    ),
    not_allowed=":lock: 你还没有权限通过本机器人查询发票，请联系财务或 Slack 管理员开通。",
    not_member=(
        ":lock: 只有本 Slack 工作区邮箱已确认的正式成员才能在此查看发票或处理单据，"
        "访客和其他组织的成员不可以。如有误，请联系 Slack 管理员检查你的账号。"
    ),
    shared_channel=":lock: 此频道与其他组织共享，我不会在这里发布发票信息。请私信我查询。",
    share_unverified=(
        ":lock: 我无法确认此会话中有哪些人，因此不会在这里分享发票信息。"
        "请在我所在的频道中分享，或保存在与我的私信中。"
    ),
    too_long=":warning: 还有 {count} 行明细未显示，请在合思中打开发票查看全部。",
    fallback="发票查询：找到 {found} 张，未找到 {missing} 张。",
    credentials_rejected=(
        ":no_entry: 机器人的合思凭证被拒绝，请联系管理员检查机器人的合思 App Key 和 "
        "App Security。（参考号 `{ref}`）"
    ),
    unavailable=(
        ":hourglass: 合思在 {minutes} 分钟内都没有正常响应，因此无法查询你的发票。"
        "请稍后重试；如果问题持续，请联系管理员。（参考号 `{ref}`）"
    ),
    bad_request=(
        ":warning: 合思拒绝了此次查询：{reason}。请检查 id 后重试；"
        "如果 id 无误，请联系管理员。（参考号 `{ref}`）"
    ),
    internal_error=(
        ":warning: 查询发票时我这边出了问题。请重试；如果问题持续，请联系管理员。（参考号 `{ref}`）"
    ),
    retrying=(
        ":hourglass_flowing_sand: 合思响应较慢，我会继续重试最多 {minutes} 分钟，并把结果发到这里。"
    ),
    queued=(
        ":hourglass_flowing_sand: 现在查询的人较多，你前面还有 {ahead} 个查询。"
        "大约 {seconds} 秒后就好，我会把结果发到这里。"
    ),
    queued_own=(
        ":hourglass_flowing_sand: 你自己还有 {ahead} 个查询排在这个前面。"
        "其中一个完成后这个就会开始，我会把结果发到这里。"
    ),
    dm_hint=(
        "把发票 id（如 `djg8LshfUkfM00:033002100311:23272058` 或 `ID01xO4jZjprrx`）"
        "或单据编号（`report B23001249`）发给我，我来帮你查询。"
    ),
    mention_hint="@我并附上发票 id 或单据编号（`report B23001249`），我会私下为你查询。",
    shortcut_nothing_found=(
        ":mag: 这条消息里没有发票 id 或单据编号。发票 id 形如 "
        "`djg8LshfUkfM00:033002100311:23272058` 或 `ID01xO4jZjprrx`；单据编号形如 `B23001249`。"
    ),
    report_usage="请在 `report` 后填写单据编号或 id，例如 `/invoice report B23001249`。",
    refresh_button="刷新链接",
    share_button="分享到频道",
    get_links_button="获取我的链接",
    show_more_button="显示更多",
    shared_by="由 <@{user}> 分享。附件链接仅本人可用：请点击 *获取我的链接* 获取你自己的链接。",
    not_yours=":lock: 只有发起查询的人才能刷新这些链接。请自己运行 `/invoice` 获取链接。",
    not_yours_preview=":lock: 只有发起查询的人才能预览这些文件。请自己运行 `/invoice` 后再预览。",
    refreshed=":arrows_counterclockwise: 链接已刷新。",
    report_title="单据 {code}",
    report_title_with_name="单据 {code} · {title}",
    report_submitter="*提交人*",
    report_state="*状态*",
    report_submitted="*提交日期*",
    report_total="*报销金额*",
    report_invoices="*发票*",
    report_count="{count} 张发票",
    report_page="第 {first}–{last} 张发票，共 {total} 张",
    report_not_found=(
        ":mag: 合思中没有单据 {code}。请检查单据编号（如 `B23001249`），或改用单据 id。"
    ),
    report_empty="单据 {code} 没有关联发票。",
    report_more="此单据还有 {count} 张发票。",
    states={
        "draft": "草稿",
        "pending": "提交中",
        "approving": "审批中",
        "rejected": "已驳回",
        "paying": "待支付",
        "PROCESSING": "支付中",
        "paid": "已支付",
        "archived": "已归档",
        "sending": "待寄送",
        "receiving": "待收单",
        "nullify": "已作废",
    },
    header_seller="*销售方*",
    header_buyer="*购买方*",
    header_code_number="*发票代码 / 号码*",
    header_number="*发票号码*",
    header_issued="*开票日期*",
    header_category="*发票类别*",
    header_verified="*验真*",
    verified_yes=":white_check_mark: 已验真",
    verified_no=":warning: 未验真",
    header_total="*价税合计*",
    header_amount="*金额*",
    header_mismatch=(
        ":warning: 明细合计为 {lines}，但发票价税合计为 {total}，相差 {difference}。"
        "审批前请核对发票。"
    ),
    categories={
        "FULL_DIGITAl_NORMAL": "数电发票（普通发票）",
        "FULL_DIGITAl_SPECIAL": "数电发票（增值税专用发票）",
        "FULL_DIGITAl_PAPER": "数电发票（纸质专用发票）",
        "FULL_DIGITAl_PAPER_NORMAL": "数电发票（纸质普通发票）",
        "DIGITAL_NORMAL": "增值税电子普通发票",
        "DIGITAL_SPECIAL": "增值税电子专用发票",
        "PAPER_NORMAL": "增值税普通发票（纸质）",
        "PAPER_ROLL": "增值税普通发票（卷票）",
        "PAPER_SPECIAL": "增值税专用发票（纸质）",
        "PAPER_CAR": "机动车销售统一发票",
        "SECOND_CAR": "二手车销售统一发票",
        "PAPER_FEE": "通行费发票",
        "BLOCK_CHAIN": "区块链发票",
    },
    ticket_types={
        "invoice": "增值税发票",
        "other": "其他票据",
        "taxi": "出租车票",
        "fixed": "定额发票",
        "passengerCar": "客运汽车票",
        "machinePrint": "机打发票",
        "shopping": "消费小票",
        "train": "火车票",
        "flightItinerary": "航空运输电子客票行程单",
        "tolls": "过路费发票",
        "medical": "医疗发票",
        "noTaxIncome": "非税收入类票据",
    },
    report_sum_page=":heavy_minus_sign: 本页发票合计 {sum}，其他页未计入",
    keep_button="保存到私信",
)


def texts_for(language: str | None = None) -> Texts:
    """Chinese for any `zh` locale (Slack sends `zh-CN`, `zh-TW`); English otherwise."""
    if language and language.strip().lower().startswith("zh"):
        return ZH
    return EN


def is_chinese(language: str | None) -> bool:
    """Whether `texts_for` picks Chinese: every catalogue follows the same choice."""
    return texts_for(language) is ZH
