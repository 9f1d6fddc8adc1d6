"""Block Kit limit checks, so the Slack stand-in rejects what real Slack rejects.

Slack answers an over-long or malformed message with a bare ``invalid_blocks``; a
renderer bug then only shows up in production. ``validate_message`` enforces the
limits from PLATFORM.md §3 and §7 that our renderers can actually hit, and names
each problem by JSON pointer so a failing test says exactly which field is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MAX_BLOCKS = 50
MAX_MESSAGE_TEXT = 40_000
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_URL = 3000
MAX_BUTTON_VALUE = 2000
MAX_ID = 255
MAX_ALT_TEXT = 2000
MAX_IMAGE_TITLE = 2000
MAX_MARKDOWN_TOTAL = 12_000

KNOWN_BLOCK_TYPES = frozenset(
    {"section", "header", "context", "divider", "actions", "image", "rich_text", "markdown"}
)
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
BUTTON_STYLES = frozenset({"primary", "danger"})
SLACK_FILE_KEYS = frozenset({"id", "url"})


class _Checker:
    """Carries the message-wide state (unique ids, markdown budget) across blocks."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.block_ids: set[str] = set()
        self.action_ids: set[str] = set()
        self.markdown_chars = 0

    def err(self, pointer: str, message: str) -> None:
        self.errors.append(f"{pointer}: {message}")

    def max_len(self, pointer: str, value: str, limit: int) -> None:
        if len(value) > limit:
            self.err(pointer, f"{len(value)} chars > {limit}")

    def string(self, pointer: str, value: Any, *, limit: int, min_len: int = 0) -> str | None:
        if not isinstance(value, str):
            self.err(pointer, f"expected a string, got {_kind(value)}")
            return None
        if len(value) < min_len:
            self.err(pointer, f"{len(value)} chars < {min_len}")
        self.max_len(pointer, value, limit)
        return value

    def text_object(
        self,
        pointer: str,
        obj: Any,
        *,
        limit: int,
        plain_only: bool = False,
    ) -> None:
        if not isinstance(obj, Mapping):
            self.err(pointer, f"expected a text object, got {_kind(obj)}")
            return
        kind = obj.get("type")
        allowed = {"plain_text"} if plain_only else TEXT_TYPES
        if kind not in allowed:
            want = " or ".join(sorted(allowed))
            self.err(f"{pointer}/type", f"must be {want}, got {kind!r}")
        elif kind == "mrkdwn" and "emoji" in obj:
            self.err(f"{pointer}/emoji", "only allowed on plain_text")
        elif kind == "plain_text" and "verbatim" in obj:
            self.err(f"{pointer}/verbatim", "only allowed on mrkdwn")
        self.string(f"{pointer}/text", obj.get("text"), limit=limit, min_len=1)

    def unique_id(self, pointer: str, value: Any, seen: set[str]) -> None:
        text = self.string(pointer, value, limit=MAX_ID, min_len=1)
        if text is None:
            return
        if text in seen:
            self.err(pointer, f"duplicate {text!r}")
        seen.add(text)

    def element(self, pointer: str, element: Any) -> None:
        if not isinstance(element, Mapping):
            self.err(pointer, f"expected an element object, got {_kind(element)}")
            return
        if not isinstance(element.get("type"), str):
            self.err(f"{pointer}/type", "missing element type")
            return
        if "action_id" in element:
            self.unique_id(f"{pointer}/action_id", element["action_id"], self.action_ids)
        if element["type"] == "button":
            self.button(pointer, element)
        elif element["type"] == "image":
            self.image_fields(pointer, element)

    def button(self, pointer: str, button: Mapping[str, Any]) -> None:
        self.text_object(
            f"{pointer}/text", button.get("text"), limit=MAX_BUTTON_TEXT, plain_only=True
        )
        if "url" in button:
            self.string(f"{pointer}/url", button["url"], limit=MAX_URL, min_len=1)
        if "value" in button:
            self.string(f"{pointer}/value", button["value"], limit=MAX_BUTTON_VALUE)
        style = button.get("style")
        if style is not None and style not in BUTTON_STYLES:
            self.err(f"{pointer}/style", f"must be primary or danger, got {style!r}")

    def elements_list(self, pointer: str, value: Any, *, limit: int) -> list[Any]:
        if not isinstance(value, list):
            self.err(pointer, f"expected a list, got {_kind(value)}")
            return []
        if not value:
            self.err(pointer, "must not be empty")
        if len(value) > limit:
            self.err(pointer, f"{len(value)} elements > {limit}")
        return value

    def block(self, pointer: str, block: Any) -> None:
        if not isinstance(block, Mapping):
            self.err(pointer, f"expected a block object, got {_kind(block)}")
            return
        kind = block.get("type")
        if kind not in KNOWN_BLOCK_TYPES:
            self.err(f"{pointer}/type", f"unknown block type {kind!r}")
            return
        if "block_id" in block:
            self.unique_id(f"{pointer}/block_id", block["block_id"], self.block_ids)
        getattr(self, f"block_{kind}")(pointer, block)

    def block_section(self, pointer: str, block: Mapping[str, Any]) -> None:
        if "text" not in block and "fields" not in block:
            self.err(pointer, "section needs text or fields")
        if "text" in block:
            self.text_object(f"{pointer}/text", block["text"], limit=MAX_SECTION_TEXT)
        if "fields" in block:
            fields = self.elements_list(
                f"{pointer}/fields", block["fields"], limit=MAX_SECTION_FIELDS
            )
            for i, field in enumerate(fields):
                self.text_object(f"{pointer}/fields/{i}", field, limit=MAX_FIELD_TEXT)
        if "accessory" in block:
            # A list here is the usual way to try (and fail) to add a second accessory.
            if isinstance(block["accessory"], list):
                self.err(f"{pointer}/accessory", "at most one accessory (got a list)")
            else:
                self.element(f"{pointer}/accessory", block["accessory"])

    def block_header(self, pointer: str, block: Mapping[str, Any]) -> None:
        self.text_object(
            f"{pointer}/text", block.get("text"), limit=MAX_HEADER_TEXT, plain_only=True
        )

    def block_context(self, pointer: str, block: Mapping[str, Any]) -> None:
        elements = self.elements_list(
            f"{pointer}/elements", block.get("elements"), limit=MAX_CONTEXT_ELEMENTS
        )
        for i, element in enumerate(elements):
            where = f"{pointer}/elements/{i}"
            if isinstance(element, Mapping) and element.get("type") == "image":
                self.image_fields(where, element)
            else:
                self.text_object(where, element, limit=MAX_SECTION_TEXT)

    def block_divider(self, pointer: str, block: Mapping[str, Any]) -> None:
        del pointer, block

    def block_actions(self, pointer: str, block: Mapping[str, Any]) -> None:
        elements = self.elements_list(
            f"{pointer}/elements", block.get("elements"), limit=MAX_ACTIONS_ELEMENTS
        )
        for i, element in enumerate(elements):
            self.element(f"{pointer}/elements/{i}", element)

    def block_image(self, pointer: str, block: Mapping[str, Any]) -> None:
        self.image_fields(pointer, block)
        if "title" in block:
            self.text_object(
                f"{pointer}/title", block["title"], limit=MAX_IMAGE_TITLE, plain_only=True
            )

    def image_fields(self, pointer: str, obj: Mapping[str, Any]) -> None:
        """An image (block or element) shows either a public URL or an uploaded file."""
        has_url, has_file = "image_url" in obj, "slack_file" in obj
        if has_url and has_file:
            self.err(pointer, "image takes image_url or slack_file, not both")
        elif not has_url and not has_file:
            self.err(pointer, "image needs image_url or slack_file")
        if has_url:
            self.string(f"{pointer}/image_url", obj["image_url"], limit=MAX_URL, min_len=1)
        if has_file:
            self.slack_file(f"{pointer}/slack_file", obj["slack_file"])
        self.string(f"{pointer}/alt_text", obj.get("alt_text"), limit=MAX_ALT_TEXT, min_len=1)

    def slack_file(self, pointer: str, value: Any) -> None:
        """A Slack file object names the file by `id` or by `url` (its url_private or
        permalink), exactly one of them."""
        if not isinstance(value, Mapping):
            self.err(pointer, f"expected a slack file object, got {_kind(value)}")
            return
        named = [key for key in SLACK_FILE_KEYS if key in value]
        if len(named) != 1:
            self.err(pointer, "slack_file needs exactly one of id or url")
        for key in sorted(set(value) - SLACK_FILE_KEYS):
            self.err(f"{pointer}/{key}", "unknown slack_file field")
        if "id" in value:
            self.string(f"{pointer}/id", value["id"], limit=MAX_ID, min_len=1)
        if "url" in value:
            self.string(f"{pointer}/url", value["url"], limit=MAX_URL, min_len=1)

    def block_rich_text(self, pointer: str, block: Mapping[str, Any]) -> None:
        if not isinstance(block.get("elements"), list):
            self.err(f"{pointer}/elements", f"expected a list, got {_kind(block.get('elements'))}")

    def block_markdown(self, pointer: str, block: Mapping[str, Any]) -> None:
        text = self.string(
            f"{pointer}/text", block.get("text"), limit=MAX_MARKDOWN_TOTAL, min_len=1
        )
        if text is None:
            return
        before = self.markdown_chars
        self.markdown_chars += len(text)
        if before <= MAX_MARKDOWN_TOTAL < self.markdown_chars:
            self.err(
                f"{pointer}/text",
                f"markdown blocks total {self.markdown_chars} chars > {MAX_MARKDOWN_TOTAL}",
            )


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def validate_message(body: Mapping[str, Any]) -> list[str]:
    """Return every limit the message breaks, as ``"<json pointer>: <problem>"``; [] = valid.

    The pointer of a message-level problem is ``/`` (for example a message with
    neither text nor blocks), so callers can tell it apart from block errors.
    """
    check = _Checker()
    if not isinstance(body, Mapping):
        return [f"/: expected a JSON object, got {_kind(body)}"]
    text = body.get("text")
    blocks = body.get("blocks")
    has_text = isinstance(text, str) and text != ""
    has_blocks = isinstance(blocks, list) and len(blocks) > 0
    if not has_text and not has_blocks:
        check.err("/", "message has neither text nor blocks")
    if text is not None:
        check.string("/text", text, limit=MAX_MESSAGE_TEXT)
    if blocks is not None:
        if not isinstance(blocks, list):
            check.err("/blocks", f"expected a list, got {_kind(blocks)}")
        else:
            if len(blocks) > MAX_BLOCKS:
                check.err("/blocks", f"{len(blocks)} blocks > {MAX_BLOCKS}")
            for i, block in enumerate(blocks):
                before = len(check.errors)
                check.block(f"/blocks/{i}", block)
                if len(check.errors) == before:  # ours found nothing: ask the SDK too
                    check.errors.extend(_slack_sdk_problems(f"/blocks/{i}", block))
    return check.errors


def _slack_sdk_problems(pointer: str, block: Any) -> list[str]:
    """A second opinion from Slack's own SDK models: what they refuse, and any field they
    do not know (parsing drops it, so the block would not survive a round trip)."""
    if not isinstance(block, Mapping):
        return []  # our own checks already named it
    try:
        parsed = Block.parse(dict(block))
        if parsed is None:
            return []  # an unknown type: our own checks already named it
        parsed.validate_json()
    except SlackObjectFormationError as exc:
        return [f"{pointer}: slack_sdk: {exc}"]
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        return [f"{pointer}: slack_sdk could not parse it ({type(exc).__name__}: {exc})"]
    if _without_empties(parsed.to_dict()) != _without_empties(block):
        return [f"{pointer}: slack_sdk does not keep it as sent: {parsed.to_dict()}"]
    return []


def _without_empties(value: Any) -> Any:
    """The SDK leaves out empty lists and objects; that changes nothing Slack shows."""
    if isinstance(value, Mapping):
        kept = {k: _without_empties(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ([], {}, None)}
    if isinstance(value, list):
        return [_without_empties(v) for v in value]
    return value


def text_objects(node: Any) -> list[dict[str, Any]]:
    """Every text object (`mrkdwn` or `plain_text`) in a message, its blocks or any part."""
    if isinstance(node, Mapping):
        found = [dict(node)] if node.get("type") in TEXT_TYPES else []
        return found + [o for v in node.values() for o in text_objects(v)]
    if isinstance(node, list):
        return [o for v in node for o in text_objects(v)]
    return []
