"""Every Slack entry point, registered on one App.

The listeners are module-level functions (a test calls one with a fake `ack`); what they
need besides Bolt (`Wiring`) reaches them in Bolt's `context`, set by one middleware.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, BoltContext

from bot.listeners import actions, commands, decide, events, home, review, shortcuts
from bot.wiring import WIRING_KEY, Wiring


def register(app: App, wiring: Wiring) -> None:
    @app.middleware
    def provide_wiring(context: BoltContext, next: Callable[[], None]) -> None:
        context[WIRING_KEY] = wiring
        next()

    commands.register(app)
    events.register(app)
    shortcuts.register(app)
    actions.register(app)
    home.register(app)
    review.register(app)
    decide.register(app)
