"""Every Slack entry point, registered on one App."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, decide, events, review, shortcuts
from bot.wiring import Wiring


def register(app: App, wiring: Wiring) -> None:
    commands.register(app, wiring)
    events.register(app, wiring)
    shortcuts.register(app, wiring)
    actions.register(app, wiring)
    review.register(app, wiring)
    decide.register(app, wiring)
