"""Slack out: Block Kit, the invoice card, texts in two languages, replies."""
