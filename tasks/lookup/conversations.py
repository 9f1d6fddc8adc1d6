"""Where invoice data may be posted for everyone there to see: the conversation as
conversations.info describes it, and the rule (pure).

A `D…` id alone says nothing: it may be the person's own DM with the bot, a DM between
two people, or a Slack Connect DM with someone from another organisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tasks.lookup.policy import Decision

UNCHECKED = Decision(False, "could not check the channel")
SHARED = Decision(False, "shared channel")
#: The flags of a conversation another organisation (or workspace) can see.
SHARED_FLAGS = ("is_ext_shared", "is_org_shared", "is_pending_ext_shared", "is_shared")


@dataclass(frozen=True)
class Conversation:
    is_im: bool
    is_mpim: bool
    #: The other side of an im, as the bot sees it (for the bot's own DM: the person).
    im_user: str
    #: Shared with another organisation or workspace, or about to be.
    shared: bool


def conversation_of(channel: Mapping[str, Any]) -> Conversation:
    user = channel.get("user")
    return Conversation(
        is_im=channel.get("is_im") is True,
        is_mpim=channel.get("is_mpim") is True,
        im_user=user if isinstance(user, str) else "",
        shared=any(channel.get(flag) is True for flag in SHARED_FLAGS),
    )


def may_post(conversation: Conversation | None, user_id: str) -> Decision:
    """Everyone in the conversation sees the post. Only the person's own DM with the bot is
    theirs alone; a DM with someone else or a group DM is like a channel; anything shared
    beyond this organisation is refused (the caller lets ALLOW_SHARED_CHANNELS override)."""
    if conversation is None:
        return UNCHECKED
    if conversation.shared:
        return SHARED
    if conversation.is_im and user_id and conversation.im_user == user_id:
        return Decision(True, "direct message")
    if conversation.is_im:
        return Decision(True, "internal direct message with someone else")
    if conversation.is_mpim:
        return Decision(True, "internal group DM")
    return Decision(True, "internal channel")
