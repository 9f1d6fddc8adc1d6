"""The approver's words: review cards, the queue and the Home tab, in both languages.

Beside the lookup's catalogue (`texts.py`), in the same shape: mrkdwn templates, anything
from Ekuaibao escaped by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.shared.texts import is_chinese


@dataclass(frozen=True)
class ReviewTexts:
    card_fallback: str
    card_title: str
    submitter: str
    department: str
    template: str
    submitted: str
    node: str
    total: str
    adds_up: str
    does_not_add_up: str
    no_invoice_totals: str
    checks: str
    checks_clean: str
    risk_flagged: str
    risk_counts: str
    risk_clear: str
    risk_unavailable: str
    invoices_shown: str
    links_note: str
    refresh_button: str
    open_button: str
    more_button: str
    moved_on: str
    moved_on_fallback: str
    outcome_approved: str
    outcome_rejected: str
    outcome_paid: str
    outcome_withdrawn: str
    outcome_deleted: str
    outcome_elsewhere: str
    now_at: str
    now_done: str
    reminder: str
    reminders: dict[str, str]
    submitter_rejected: str
    submitter_paid: str
    comment: str
    deep_link: str
    deep_link_failed: str
    not_yours: str
    not_approver: str
    queue_asking: str
    queue_title: str
    queue_empty: str
    queue_item: str
    queue_more: str
    review_button: str
    not_staff: str
    card_posted: str
    unavailable: str
    home_title: str
    home_not_staff: str
    home_updated: str
    states: dict[str, str]


EN = ReviewTexts(
    card_fallback="Report {code} waits for your review",
    card_title=":inbox_tray: {code} · {title}",
    submitter="*Submitter*",
    department="*Department*",
    template="*Template*",
    submitted="*Submitted*",
    node="*Waiting at*",
    total="*Expense total*",
    adds_up=":white_check_mark: its invoices add up to it",
    does_not_add_up=":warning: its invoices add up to {sum}, {difference} off",
    no_invoice_totals="no invoice totals to compare",
    checks=":warning: {unverified} not verified · {mismatched} with lines ≠ total · "
    "{used} already used on another report",
    checks_clean=":white_check_mark: every invoice verified, adding up, and used only here",
    risk_flagged=":triangular_flag_on_post: {count} invoice(s) flagged by Ekuaibao's risk check",
    risk_counts=" (Ekuaibao counts {non_compliant} of {total} not compliant)",
    risk_clear=":white_check_mark: no risk flags from Ekuaibao",
    risk_unavailable=(
        ":grey_question: Ekuaibao's risk flags could not be read just now: press *Refresh links* "
        "in a minute to try again."
    ),
    invoices_shown="Invoices {first}–{last} of {total}",
    links_note=":link: Links expire {expires}: press *Refresh links* for new ones.",
    refresh_button="Refresh links",
    open_button="Open in Ekuaibao",
    more_button="Show more",
    moved_on=":arrow_right: *{code}* · {title}\n{outcome} {where}",
    moved_on_fallback="Report {code} no longer waits for you",
    outcome_approved="It was approved and moved on.",
    outcome_rejected="It was rejected.",
    outcome_paid="It was paid.",
    outcome_withdrawn="The submitter withdrew it.",
    outcome_deleted="It was deleted in Ekuaibao.",
    outcome_elsewhere="It no longer waits for you.",
    now_at="Now at: *{stage}*.",
    now_done="Nothing left to do here.",
    reminder=":bell: {what}: this report still waits for your review.",
    reminders={
        "freeflow.remind": "Reminder",
        "urgent.remind": "Urgent",
        "timeout.remind": "Overdue",
    },
    submitter_rejected=":x: Your report *{code}* · {title} was rejected.",
    submitter_paid=":moneybag: Your report *{code}* · {title} was paid.",
    comment="Comment: {comment}",
    deep_link=":closed_lock_with_key: <{url}|Open {code} in Ekuaibao>. The link is yours "
    "only, works once and expires {expires}: don't share it.",
    deep_link_failed="Ekuaibao would not make a link right now ({reason}). Try again in a "
    "minute, or open the report in Ekuaibao yourself.",
    not_yours="This card belongs to another approver.",
    not_approver="This report no longer waits for you, so there is nothing to open.",
    queue_asking=":mag: Looking for reports waiting for you…",
    queue_title=":inbox_tray: *{count} report(s) wait for your review*",
    queue_empty=":tada: Nothing waits for your review in Ekuaibao.",
    queue_item="*{code}* · {title}\n{submitter} · {amount} · waiting since {since}",
    queue_more="Showing the newest {shown} of {count}. Open Ekuaibao for the rest.",
    review_button="Review",
    not_staff="Your Slack email is not an active Ekuaibao (合思) account, so there is no "
    "review queue for you. Ask your Ekuaibao admin to check your email there.",
    card_posted=":white_check_mark: The review card for {code} is in your DM with me.",
    unavailable="Ekuaibao is not answering right now. Try again in a few minutes (ref {ref}).",
    home_title="Waiting for your review",
    home_not_staff="Your Slack email is not an active Ekuaibao account, so no reviews are "
    "listed here. Ask your Ekuaibao admin.",
    home_updated="Updated {when}. Type `/invoice review` for the same list anywhere.",
    states={
        "approving": "approving",
        "paying": "waiting for payment",
        "paid": "paid",
        "archived": "archived",
        "rejected": "rejected",
        "draft": "draft",
        "nullify": "voided",
    },
)

ZH = ReviewTexts(
    card_fallback="单据 {code} 等待您审批",
    card_title=":inbox_tray: {code} · {title}",
    submitter="*提交人*",
    department="*部门*",
    template="*模板*",
    submitted="*提交时间*",
    node="*当前节点*",
    total="*报销金额*",
    adds_up=":white_check_mark: 发票合计与之相符",
    does_not_add_up=":warning: 发票合计为 {sum}，相差 {difference}",
    no_invoice_totals="没有可比对的发票金额",
    checks=":warning: {unverified} 张未验真 · {mismatched} 张明细与价税合计不符 · "
    "{used} 张已用于其他单据",
    checks_clean=":white_check_mark: 所有发票均已验真、金额相符、仅用于本单据",
    risk_flagged=":triangular_flag_on_post: {count} 张发票被合思风险检查标记",
    risk_counts="（合思统计 {total} 张中 {non_compliant} 张不合规）",
    risk_clear=":white_check_mark: 合思未标记风险",
    risk_unavailable=":grey_question: 暂时无法读取合思的风险标记：请稍后点击「*刷新链接*」重试。",
    invoices_shown="发票 {first}–{last}，共 {total} 张",
    links_note=":link: 链接于 {expires} 失效：点击「刷新链接」获取新链接。",
    refresh_button="刷新链接",
    open_button="在合思中打开",
    more_button="显示更多",
    moved_on=":arrow_right: *{code}* · {title}\n{outcome}{where}",
    moved_on_fallback="单据 {code} 已不再等待您审批",
    outcome_approved="已审批通过，流转到下一步。",
    outcome_rejected="已被驳回。",
    outcome_paid="已支付。",
    outcome_withdrawn="提交人已撤回。",
    outcome_deleted="已在合思中删除。",
    outcome_elsewhere="已不再等待您审批。",
    now_at="当前节点：*{stage}*。",
    now_done="无需再处理。",
    reminder=":bell: {what}：此单据仍在等待您审批。",
    reminders={
        "freeflow.remind": "催办",
        "urgent.remind": "加急",
        "timeout.remind": "超时提醒",
    },
    submitter_rejected=":x: 您的单据 *{code}* · {title} 已被驳回。",
    submitter_paid=":moneybag: 您的单据 *{code}* · {title} 已支付。",
    comment="审批意见：{comment}",
    deep_link=":closed_lock_with_key: <{url}|在合思中打开 {code}>。此链接仅供您本人使用，"
    "只能打开一次，{expires} 失效：请勿转发。",
    deep_link_failed="合思暂时无法生成链接（{reason}）。请一分钟后再试，或直接在合思中打开单据。",
    not_yours="这张卡片属于另一位审批人。",
    not_approver="此单据已不再等待您审批，无法打开。",
    queue_asking=":mag: 正在查找等待您审批的单据…",
    queue_title=":inbox_tray: *{count} 张单据等待您审批*",
    queue_empty=":tada: 合思中没有等待您审批的单据。",
    queue_item="*{code}* · {title}\n{submitter} · {amount} · 自 {since} 起等待",
    queue_more="显示最新的 {shown} 张，共 {count} 张。其余请在合思中查看。",
    review_button="审批",
    not_staff="您的 Slack 邮箱不是在职的合思账号，因此没有待审批列表。"
    "请联系合思管理员核对您的邮箱。",
    card_posted=":white_check_mark: {code} 的审批卡片已发到您与我的私信中。",
    unavailable="合思暂时没有响应。请几分钟后再试（编号 {ref}）。",
    home_title="等待您审批",
    home_not_staff="您的 Slack 邮箱不是在职的合思账号，因此这里没有待审批单据。请联系合思管理员。",
    home_updated="更新于 {when}。在任何地方输入 `/invoice review` 也能看到此列表。",
    states={
        "approving": "审批中",
        "paying": "待支付",
        "paid": "已支付",
        "archived": "已归档",
        "rejected": "已驳回",
        "draft": "草稿",
        "nullify": "已作废",
    },
)


def review_texts_for(language: str | None = None) -> ReviewTexts:
    """The review words in the same language `texts_for` picks."""
    return ZH if is_chinese(language) else EN
