"""What deciding from the review card says, in English and Chinese: short, and each
refusal says what to do next."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.shared.texts import is_chinese


@dataclass(frozen=True)
class DecideTexts:
    approve_button: str
    reject_button: str
    ask_button: str
    title_approve: str
    title_reject: str
    title_ask: str
    submit_approve: str
    submit_reject: str
    submit_ask: str
    cancel: str
    loading: str
    summary: str
    comment_label: str
    reason_label: str
    question_label: str
    reject_to_label: str
    to_submitter: str
    resubmit_label: str
    from_start: str
    to_rejector: str
    reason_required: str
    question_required: str
    cannot_queue: str
    approving: str
    rejecting: str
    asking: str
    queued: str
    approved: str
    approved_done: str
    rejected: str
    asked: str
    refused: str
    reasons: dict[str, str]
    refused_other: str
    unconfirmed: str
    not_staff: str
    #: Slack says this person is a guest, from another organisation, deactivated or a bot.
    not_member: str
    not_approver: str
    not_approving: str
    moved: str
    not_allowed: str
    switched_off: str
    in_progress: str
    already: str
    ask_refused: str
    asked_note: str
    not_sent: str
    changed: str
    node_unknown: str
    not_verified: str


EN = DecideTexts(
    approve_button="Approve",
    reject_button="Reject…",
    ask_button="Ask the submitter…",
    title_approve="Approve report",
    title_reject="Reject report",
    title_ask="Ask the submitter",
    submit_approve="Confirm",
    submit_reject="Reject",
    submit_ask="Send",
    cancel="Cancel",
    loading="Checking the report in Ekuaibao…",
    summary="*{code}* · {title}\n{amount} · {invoices} invoice(s) · from {submitter}\n"
    "Waiting at {stage}",
    comment_label="Comment (optional)",
    reason_label="Reason (required)",
    question_label="Your question (the submitter is mentioned)",
    reject_to_label="Send it back to",
    to_submitter="The submitter",
    resubmit_label="When it is resubmitted",
    from_start="Through the whole flow again",
    to_rejector="Straight back to me",
    reason_required="Please say why, so the submitter can fix it.",
    question_required="Please write your question.",
    cannot_queue="Could not send that just now. Please try again in a minute.",
    approving="⏳ *Approving…* Ekuaibao is processing your decision on {code}.",
    rejecting="⏳ *Rejecting…* Ekuaibao is processing your decision on {code}.",
    asking="⏳ Posting your question on {code}…",
    queued="⏳ *Queued.* Ekuaibao takes one decision a minute for your company; "
    "yours on {code} goes in about {seconds} s. Nothing to do meanwhile.",
    approved="✅ *Approved* by you at {when} · now at {stage}",
    approved_done="✅ *Approved* by you at {when} · approval complete",
    rejected="↩️ *Rejected* by you at {when} · sent back to {where}",
    asked="💬 Your question is on {code} in Ekuaibao, and the submitter was mentioned. "
    "The card stays here for your decision.",
    refused="⚠️ Ekuaibao did not take your decision on {code}: {reason}",
    reasons={
        "未选择下级审批人": "未选择下级审批人: choose the next approver in Ekuaibao",
        "您没有权限处理该待办事项": "您没有权限处理该待办事项: someone else may have acted or "
        "it was transferred; refresh the card",
        "无待办审批事项": "无待办审批事项: the report no longer waits for approval",
    },
    refused_other="{reason}: open the report in Ekuaibao to decide there",
    unconfirmed="⚠️ Ekuaibao has not confirmed your decision on {code}. Check the report in "
    "Ekuaibao before deciding again.",
    not_staff="Your Slack email matches no active Ekuaibao staff member, so nothing was sent. "
    "Ask your Ekuaibao admin to check your email.",
    not_member="Only full members of this Slack workspace with a confirmed email can decide "
    "here, not guests or people from other organisations, so nothing was sent. If that's "
    "wrong, ask your Slack admin to check your account.",
    not_approver="You are not a current approver of {code}, so nothing was sent to Ekuaibao. "
    "Only its approver can decide here.",
    not_approving="{code} no longer waits for approval ({state}), so nothing was sent.",
    moved="{code} moved on since this card was made, so nothing was sent. Refresh the card "
    "to see where it is.",
    not_allowed="Ekuaibao does not offer you this on {code} here. Open it in Ekuaibao.",
    switched_off="Deciding in Slack is off for this workspace. Open the report in Ekuaibao.",
    in_progress="Your decision on {code} is already on its way; nothing more to do.",
    already="You already decided on {code} here; nothing was sent again.",
    ask_refused="Ekuaibao did not post your question on {code}: {reason}. Ask in Ekuaibao, "
    "or put it in a rejection reason.",
    asked_note="💬 Question sent to the submitter by {who} at {when}. The decision is still yours.",
    not_sent="⚠️ Your decision on {code} was not sent: the bot stopped before it reached "
    "Ekuaibao. Nothing changed there; decide again when you are ready.",
    changed="⚠️ {code} changed since you opened it, so nothing was sent. Look at it again "
    "as it is now, then decide.",
    node_unknown="Ekuaibao does not say clearly which step {code} waits at, so nothing was "
    "sent. Open it in Ekuaibao to decide there.",
    not_verified="Your decision on {code} could not be verified, so nothing was sent to "
    "Ekuaibao. Decide in Ekuaibao for now, and tell your admin (the bot and its workers "
    "need the same decision key).",
)

ZH = DecideTexts(
    approve_button="同意",
    reject_button="驳回…",
    ask_button="询问提交人…",
    title_approve="同意单据",
    title_reject="驳回单据",
    title_ask="询问提交人",
    submit_approve="确认",
    submit_reject="驳回",
    submit_ask="发送",
    cancel="取消",
    loading="正在易快报中核对单据…",
    summary="*{code}* · {title}\n{amount} · {invoices} 张发票 · 提交人 {submitter}\n"
    "当前节点 {stage}",
    comment_label="审批意见（可选）",
    reason_label="驳回原因（必填）",
    question_label="您的问题（会@提交人）",
    reject_to_label="驳回至",
    to_submitter="提交人",
    resubmit_label="重新提交时",
    from_start="重新走完整流程",
    to_rejector="直接送审至我",
    reason_required="请填写原因，方便提交人修改。",
    question_required="请填写您的问题。",
    cannot_queue="暂时无法发送，请一分钟后重试。",
    approving="⏳ *正在同意…* 易快报正在处理您对 {code} 的审批。",
    rejecting="⏳ *正在驳回…* 易快报正在处理您对 {code} 的审批。",
    asking="⏳ 正在发布您对 {code} 的问题…",
    queued="⏳ *排队中。* 易快报每分钟只处理贵公司一次审批，"
    "您对 {code} 的审批约 {seconds} 秒后发出，无需操作。",
    approved="✅ 您已于 {when} *同意* · 现在到 {stage}",
    approved_done="✅ 您已于 {when} *同意* · 审批完成",
    rejected="↩️ 您已于 {when} *驳回* · 退回至 {where}",
    asked="💬 您的问题已发布在易快报的 {code} 上，并@了提交人。卡片保留，等您审批。",
    refused="⚠️ 易快报未接受您对 {code} 的审批：{reason}",
    reasons={
        "未选择下级审批人": "未选择下级审批人：请在易快报中选择下一位审批人",
        "您没有权限处理该待办事项": "您没有权限处理该待办事项："
        "可能已有他人处理或已转交，请刷新卡片",
        "无待办审批事项": "无待办审批事项：该单据已不在审批中",
    },
    refused_other="{reason}：请在易快报中打开单据审批",
    unconfirmed="⚠️ 易快报尚未确认您对 {code} 的审批。请先在易快报中查看单据，再决定是否重试。",
    not_staff="您的 Slack 邮箱未对应任何在职的易快报员工，未发送任何操作。"
    "请联系易快报管理员核对邮箱。",
    not_member="只有本 Slack 工作区邮箱已确认的正式成员才能在此审批，访客和其他组织的成员不可以，"
    "未发送任何操作。如有误，请联系 Slack 管理员检查您的账号。",
    not_approver="您不是 {code} 的当前审批人，未向易快报发送任何操作。只有其审批人可在此审批。",
    not_approving="{code} 已不在审批中（{state}），未发送任何操作。",
    moved="{code} 在卡片生成后已流转，未发送任何操作。请刷新卡片查看。",
    not_allowed="易快报不允许您在此对 {code} 进行该操作，请在易快报中打开。",
    switched_off="本工作区未开启在 Slack 中审批，请在易快报中打开单据。",
    in_progress="您对 {code} 的审批正在发送，无需再操作。",
    already="您已在此审批过 {code}，未重复发送。",
    ask_refused="易快报未发布您对 {code} 的问题：{reason}。请在易快报中询问，或写在驳回原因里。",
    asked_note="💬 {who} 已于 {when} 向提交人发送问题，审批仍待您决定。",
    not_sent="⚠️ 您对 {code} 的审批未发出：机器人在发送到易快报之前停止了。易快报中没有任何变化，"
    "请在准备好后重新审批。",
    changed="⚠️ {code} 在您打开后已被修改，未发送任何操作。请查看其最新内容后再审批。",
    node_unknown="易快报未明确 {code} 当前所在的审批节点，未发送任何操作。请在易快报中打开审批。",
    not_verified="您对 {code} 的审批无法验证，未向易快报发送任何操作。请暂时在易快报中审批，"
    "并告知管理员（机器人与其 worker 需要相同的审批签名密钥）。",
)


def decide_texts_for(language: str | None = None) -> DecideTexts:
    return ZH if is_chinese(language) else EN
