"""Correctly signed Slack requests, as Slack sends them: for the demo, tests and benchmarks."""

from __future__ import annotations

import json
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
    form = {
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
    body = urllib.parse.urlencode(form).encode()
    return body, signed_headers(secret, body, "application/x-www-form-urlencoded", timestamp)


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
) -> tuple[bytes, dict[str, str]]:
    """A click on one of the bot's buttons, as Slack sends it (form-encoded `payload=`)."""
    payload = {
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
    return interaction(secret, payload, timestamp=None)
