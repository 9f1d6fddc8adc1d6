"""What the bot and the worker both use: the words (every text catalogue, EN and ZH), the
Block Kit primitives, the acks and the decide modal's frame, each person's language and
the Slack client that reads it, and de-duplication. Nothing here calls Ekuaibao."""
