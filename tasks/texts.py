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
    totals_amount: str
    totals_tax: str
    totals_total: str
    totals_incomplete: str
    attachment: str
    open_button: str
    no_attachment: str
    kinds: dict[str, str]
    not_found: str
    too_long: str
    fallback: str
    # failures
    credentials_rejected: str
    unavailable: str
    bad_request: str
    internal_error: str
    retrying: str
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
    links_private: str
    not_yours: str
    refreshed: str
    # reports
    report_title: str
    report_title_with_name: str
    report_submitter: str
    report_state: str
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
    header_mismatch: str
    categories: dict[str, str]
    ticket_types: dict[str, str]


EN = Texts(
    looking_up_one=":mag: Looking up 1 invoice…",
    looking_up_many=":mag: Looking up {count} invoices…",
    usage=(
        "*Look up Ekuaibao invoices*\n"
        "`/invoice <id> [<id> …]` shows each invoice's line items, totals and freshly signed "
        "attachment links, privately to you.\n"
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
    links_private="Attachment links are private to each viewer.",
    not_yours=(
        ":lock: Only the person who asked can refresh these links. Run `/invoice` yourself "
        "to get your own."
    ),
    refreshed=":arrows_counterclockwise: Links refreshed.",
    report_title="Report {code}",
    report_title_with_name="Report {code} · {title}",
    report_submitter="*Submitter*",
    report_state="*State*",
    report_count="{count} invoice(s)",
    report_page="Invoices {first}–{last} of {total}",
    report_not_found=(
        ":mag: No report {code} in Ekuaibao. Check the code (like `B23001249`) or use the "
        "report's id."
    ),
    report_empty="Report {code} has no invoices attached.",
    report_more="{count} more invoice(s) in this report.",
    states={
        "draft": "Draft", "pending": "Pending", "approving": "In approval",
        "rejected": "Rejected", "paying": "Awaiting payment", "PROCESSING": "Payment processing",
        "paid": "Paid", "archived": "Archived", "sending": "Awaiting dispatch",
        "receiving": "Awaiting receipt", "nullify": "Voided",
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
        "invoice": "VAT invoice", "other": "Other receipt", "taxi": "Taxi receipt",
        "fixed": "Fixed-value invoice", "passengerCar": "Coach ticket",
        "machinePrint": "Machine-printed invoice", "shopping": "Shop receipt",
        "train": "Train ticket", "flightItinerary": "Flight itinerary", "tolls": "Toll receipt",
        "medical": "Medical invoice", "noTaxIncome": "Fiscal receipt (非税收入)",
    },
)


def texts_for(language: str | None = None) -> Texts:
    """The strings for a language; English until Chinese is added."""
    return EN
