"""Composition root of the Slack side: the Bolt App with its listeners, nothing else."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltResponse

from bot import listeners
from bot.enqueue import Enqueue
from bot.wiring import Wiring
from tasks.redact import redact
from tasks.settings import Settings
from tasks.shared.dedup import make_dedup
from tasks.shared.language import LanguagePicker
from tasks.shared.slack_client import slack_client

log = logging.getLogger(__name__)


def build_app(settings: Settings, enqueue: Enqueue) -> App:
    """Listeners run before the HTTP response (`process_before_response`).

    They only parse and publish one message, so running them inline is fast, and it skips
    Bolt's threaded ack wait, which polls every 10 ms and would add that to every ack.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    signing_secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    # Bolt builds the client from `token`. Given a `client` instead, it reads
    # SLACK_BOT_TOKEN from the environment anyway and warns that the token "will be
    # unused"; so let it build the client, then point that client at our Slack URL.
    app = App(
        token=token,
        signing_secret=signing_secret,
        process_before_response=True,
        token_verification_enabled=False,
        request_verification_enabled=signing_secret is not None,
        logger=logging.getLogger("slack_bolt"),
    )
    app.client.base_url = settings.slack_api_url
    app.client.timeout = 10

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        """A payload our listeners could not use. Retrying would fail the same way, so say
        400 and ask Slack not to redeliver it."""
        log.error("listener failed: %s: %s", type(error).__name__, redact(str(error))[:300])
        return BoltResponse(status=400, body="", headers={"X-Slack-No-Retry": "1"})

    wiring = Wiring(
        enqueue=enqueue,
        dedup=make_dedup(settings.redis_url, settings.state_dir),
        # Short timeout: a first-time user's locale is read inside the 3-second ack.
        language=LanguagePicker(settings.bot_language, slack_client(settings, timeout=2)),
        double_click_s=settings.double_click_s,
    )
    listeners.register(app, wiring)
    return app
