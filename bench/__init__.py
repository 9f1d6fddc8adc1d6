"""Performance benchmark of the bot: `python -m bench.run` (see docs/benchmarks.md).

Everything here talks to 127.0.0.1 only: the bot, its workers, Redis, the baseline app and
the Ekuaibao and Slack stand-ins all run on this machine.
"""
