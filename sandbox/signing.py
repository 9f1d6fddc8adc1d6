"""Correctly signed Slack requests, as Slack sends them: for the demo, tests and benchmarks."""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
from typing import Any

from slack_sdk.signature import SignatureVerifier


def signed_headers(
    secret: str, body: bytes, content_type: str, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body.decode())
    assert signature is not None
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def slash_command(
    secret: str,
    text: str,
    response_url: str,
    *,
    command: str = "/invoice",
    user_id: str = "U0SANDBOX",
    channel_id: str = "C0SANDBOX",
    team_id: str = "T0SANDBOX",
    timestamp: int | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A form-encoded slash command payload with the fields Slack sends."""
    form = slash_command_fields(
        text,
        response_url,
        command=command,
        user_id=user_id,
        channel_id=channel_id,
        team_id=team_id,
    )
    body = urllib.parse.urlencode(form).encode()
    return body, signed_headers(secret, body, "application/x-www-form-urlencoded", timestamp)


def slash_command_fields(
    text: str,
    response_url: str,
    *,
    command: str = "/invoice",
    user_id: str = "U0SANDBOX",
    channel_id: str = "C0SANDBOX",
    team_id: str = "T0SANDBOX",
) -> dict[str, str]:
    """The fields of a slash command: form-encoded over HTTP, a JSON object in Socket Mode."""
    return {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "team_domain": "sandbox",
        "channel_id": channel_id,
        "channel_name": "expenses",
        "user_id": user_id,
        "user_name": "sandbox.user",
        "command": command,
        "text": text,
        "api_app_id": "A0SANDBOX",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.1.sandbox",
    }


def interaction(
    secret: str, payload: dict[str, Any], timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """Interactivity payloads arrive form-encoded as `payload=<json>`."""
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    return body, signed_headers(secret, body, "application/x-www-form-urlencoded", timestamp)


def event(
    secret: str, envelope: dict[str, Any], timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(envelope).encode()
    return body, signed_headers(secret, body, "application/json", timestamp)


def block_action(
    secret: str,
    action_id: str,
    value: str,
    response_url: str,
    *,
    user: str = "U0SANDBOX",
    channel: str = "C0SANDBOX",
    message_ts: str = "1700000000.000100",
    trigger_id: str = "1.2.3",
) -> tuple[bytes, dict[str, str]]:
    """A click on one of the bot's buttons, as Slack sends it (form-encoded `payload=`)."""
    payload = block_action_payload(
        action_id, value, response_url, user=user, channel=channel, message_ts=message_ts
    )
    payload["trigger_id"] = trigger_id
    return interaction(secret, payload, timestamp=None)


def block_action_payload(
    action_id: str,
    value: str,
    response_url: str,
    *,
    user: str = "U0SANDBOX",
    channel: str = "C0SANDBOX",
    message_ts: str = "1700000000.000100",
) -> dict[str, Any]:
    """The `block_actions` payload of a click on one of the bot's buttons."""
    return {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T0SANDBOX"},
        "api_app_id": "A0SANDBOX",
        "trigger_id": "1.2.3",
        "response_url": response_url,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": True,
        },
        "channel": {"id": channel},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b",
                "type": "button",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def message_shortcut_payload(
    message: dict[str, Any], response_url: str, *, user: str = "U0SANDBOX"
) -> dict[str, Any]:
    """ "Look up invoices" in a message's ⋯ menu (`message_action`)."""
    return {
        "type": "message_action",
        "callback_id": "lookup_invoices",
        "trigger_id": "1.2.3",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": "T0SANDBOX"},
        "user": {"id": user},
        "channel": {"id": "C0SANDBOX"},
        "message": message,
        "response_url": response_url,
    }


def event_callback(inner: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An Events API envelope around one event, as Slack delivers it."""
    return {
        "type": "event_callback",
        "token": "x",
        "team_id": "T0SANDBOX",
        "api_app_id": "A0SANDBOX",
        "event": inner,
        "event_id": event_id or f"Ev{secrets.token_hex(6)}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "team_id": "T0SANDBOX",
                "user_id": "U0SANDBOXBOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }


def view_submission_payload(
    view: dict[str, Any], values: dict[str, dict[str, Any]], *, user: str = "U0SANDBOX"
) -> dict[str, Any]:
    """Confirm on a modal: the view as the bot last set it, with what the person entered
    (`values`: block_id -> action_id -> element state, as Slack's `state.values`)."""
    return {
        "type": "view_submission",
        "team": {"id": "T0SANDBOX", "domain": "sandbox"},
        "user": {"id": user, "team_id": "T0SANDBOX"},
        "api_app_id": "A0SANDBOX",
        "trigger_id": f"{int(time.time())}.9.sandbox",
        "view": {**view, "state": {"values": values}, "app_id": "A0SANDBOX"},
        "response_urls": [],
    }
