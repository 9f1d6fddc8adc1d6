"""Every Slack entry point, registered on one App."""

from __future__ import annotations

from slack_bolt import App

from bot.enqueue import Enqueue
from bot.listeners import commands
from tasks.texts import Texts


def register(app: App, enqueue: Enqueue, texts: Texts) -> None:
    commands.register(app, enqueue, texts)
