"""The bot's Slack Web API client, shared by the bot (locale look-ups) and the workers."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tasks.settings import Settings


def slack_client(settings: Settings, timeout: int = 10) -> WebClient | None:
    """Honours Slack's Retry-After on 429, twice at most."""
    if settings.slack_bot_token is None:
        return None
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=timeout,
    )
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client
