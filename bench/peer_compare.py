"""Ours beside a hand-built peer doing the same Ekuaibao work, in one run.

* **ours**: ``invoicebot serve --http --no-worker`` and ONE ``invoicebot worker``, both on
  their defaults (no pool, concurrency or per-person setting), Redis, the Ekuaibao budget
  raised as in the steady runs;
* **peer**: ``bench/peer_app.py`` (waitress, 16 threads) and
  ``celery -A bench.peer_app worker --pool prefork --concurrency 16`` on the same Redis.

For each rate both get fresh processes and stand-ins, the same warm-up (one lookup from
each of the bench's Slack users: ours reads each user's locale once) and the same commands
from the same users, round-robin; which system goes first alternates from rate to rate.
Answers (a reply with the expected words, not a note) still missing `GRACE_S` after the
last command count as missing. One more session
sends 50/s from a single person to ours: the per-person limit holds it, by design.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

from bench.standins import StandIns, bench_user_ids

GRACE_S = 20.0
ONE_USER_RATE = 50.0
TARGETS = {"e2e_p99_floor_50": 1.10, "ack_p99_ms": 20.0}
METRICS = (
    ("answers_per_s", "answers/s over the run", 1),
    ("unanswered", f"answers missing {GRACE_S:g} s after the last command", 0),
    ("answer_p50_ms", "e2e p50 ms (command → its answer)", 1),
    ("answer_p99_ms", "e2e p99 ms (command → its answer)", 1),
    ("ack_p99_ms", "ack p99 ms", 1),
    ("cpu_ms_per_reply", "CPU ms per reply (bot + worker)", 2),
    ("redis_ms_per_reply", "Redis CPU ms per reply", 2),
    ("other_cores", "other processes, cores", 2),
)


def ours_env(run: Any, standins: StandIns, secret: str, folder: Path) -> dict[str, str]:
    """What an operator sets: credentials, URLs, the broker; the budget raised (5/s would
    make this a test of the limiter). Nothing else: every other setting at its default."""
    env = run.app_env(standins, secret)
    env.pop("LOOKUPS_PER_PERSON", None)
    env.update(
        EKUAIBAO_RATE_LIMIT=run.RATE_LIMIT,
        EKUAIBAO_RATE_BURST=run.RATE_BURST,
        STATE_DIR=str(folder / "state"),
        CELERY_BROKER_URL=run.REDIS_URL,
    )
    # For trying a setting against the defaults: BENCH_OURS_ENV="WORKER_PROCESSES=1 ..."
    env.update(kv.split("=", 1) for kv in os.environ.get("BENCH_OURS_ENV", "").split() if "=" in kv)
    return dict(env)


def _flush(run: Any) -> None:
    import redis

    redis.Redis.from_url(run.REDIS_URL).flushdb()


def start_ours(run: Any, standins: StandIns, folder: Path) -> Any:
    secret = secrets.token_hex(16)
    env = ours_env(run, standins, secret, folder)
    _flush(run)
    port = run.free_port()
    bot_log = folder / "bot.log"
    py = sys.executable
    args = [py, "-m", "bot.cli", "serve", "--http", "--port", str(port), "--no-worker"]
    app = run._spawn(args, env, bot_log, folder)
    worker = run._spawn([py, "-m", "bot.cli", "worker"], env, folder / "worker.log", folder)
    system = run.System("ours", f"http://127.0.0.1:{port}/slack/events", secret, app, [worker])
    try:
        run._wait_listening(port, app, "/healthz", bot_log)
    except Exception:
        system.stop()
        raise
    return system


def start_peer(run: Any, standins: StandIns, folder: Path) -> Any:
    secret = secrets.token_hex(16)
    env = run.app_env(standins, secret)
    env["CELERY_BROKER_URL"] = run.REDIS_URL
    _flush(run)
    port = run.free_port()
    log_path = folder / "peer.log"
    py = sys.executable
    web = [py, "-m", "bench.peer_app", "--port", str(port), "--threads", "16"]
    app = run._spawn(web, env, log_path, run.REPO)
    celery = ["-A", "bench.peer_app", "worker", "--pool", "prefork", "--concurrency", "16"]
    worker = run._spawn(
        [py, "-m", "celery", *celery, "--loglevel", "WARNING"],
        env,
        folder / "peer-worker.log",
        run.REPO,
    )
    system = run.System("peer", f"http://127.0.0.1:{port}/slack/events", secret, app, [worker])
    try:
        run._wait_listening(port, app, None, log_path)
    except Exception:
        system.stop()
        raise
    return system


def peer(run: Any, cfg: Any, rates: list[float]) -> dict[str, Any]:
    users = bench_user_ids(cfg.users if cfg.users > 1 else 200)
    starters = {
        "ours": lambda s, f: start_ours(run, s, f),
        "peer": lambda s, f: start_peer(run, s, f),
    }
    rows: list[dict[str, Any]] = []
    for n, rate in enumerate(rates):
        order = ["ours", "peer"] if n % 2 == 0 else ["peer", "ours"]
        for name in order:
            row = run.session(
                cfg, f"peer-{name}", rate, cfg.duration, ["ids5"], starters[name],
                users=users, grace_s=GRACE_S,
            )  # fmt: skip
            row.update(system=name, first=order[0])
            rows.append(_with_redis(row))
    one = run.session(
        cfg, "peer-ours-one-user", ONE_USER_RATE, cfg.duration, ["ids5"], starters["ours"],
        users=[run.USER_ID], grace_s=GRACE_S,
    )  # fmt: skip
    one.update(system="ours", first="ours")
    return {"rows": rows, "one_user": _with_redis(one), "users": len(users), "grace_s": GRACE_S}


def _with_redis(row: dict[str, Any]) -> dict[str, Any]:
    row["redis_ms_per_reply"] = row["cpu"]["redis_s"] * 1000 / max(1, row["replied"])
    return row


def _pairs(sc: dict[str, Any]) -> list[tuple[float, dict[str, Any], dict[str, Any]]]:
    rows = (sc.get("peer") or {}).get("rows") or []
    out = []
    for rate in sorted({r["rate"] for r in rows}):
        ours = next((r for r in rows if r["rate"] == rate and r["system"] == "ours"), None)
        peer_row = next((r for r in rows if r["rate"] == rate and r["system"] == "peer"), None)
        if ours and peer_row:
            out.append((rate, ours, peer_row))
    return out


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _le(a: float | None, b: float | None) -> bool | None:
    return None if a is None or b is None else a <= b


def evaluate(results: dict[str, Any], add: Any) -> None:
    sc = results["scenarios"]
    floor_ms = (results.get("floor") or {}).get("floor_ms")
    for rate, ours, peer_row in _pairs(sc):
        at = f"@ {rate:g} req/s"
        if rate == 50:
            o, p = ours["answer_p99_ms"], peer_row["answer_p99_ms"]
            add(f"vs peer: e2e p99 {at}", "≤ peer's", o, _le(o, p), f"peer {_f(p)} ms")
            if floor_ms:
                limit = TARGETS["e2e_p99_floor_50"] * floor_ms
                reached = p is not None and p <= limit
                add(
                    f"vs peer: e2e p99 ÷ floor {at}",
                    f"≤ {TARGETS['e2e_p99_floor_50']:.2f}× where the peer reaches it",
                    None if o is None else o / floor_ms,
                    _le(o, limit) if reached else None,
                    f"peer {_f(None if p is None else p / floor_ms, 2)}×"
                    + ("" if reached else ": the peer does not reach it on this machine"),
                )
        if rate == 100:
            o, p = ours["answers_per_s"], peer_row["answers_per_s"]
            add(
                f"vs peer: answers/s {at}", "≥ peer's", o,
                None if o is None or p is None else o >= p, f"peer {_f(p)}",
            )  # fmt: skip
            add(
                f"vs peer: answers missing {GRACE_S:g} s {at}", "≤ peer's",
                ours["unanswered"], ours["unanswered"] <= peer_row["unanswered"],
                f"peer {peer_row['unanswered']} of {peer_row['sent']}",
            )  # fmt: skip
        o, p = ours["cpu_ms_per_reply"], peer_row["cpu_ms_per_reply"]
        add(f"vs peer: CPU per reply {at}", "≤ peer's", o, _le(o, p), f"peer {_f(p, 2)} ms")
        o, p = ours["ack_p99_ms"], peer_row["ack_p99_ms"]
        ok = None if o is None else bool(_le(o, p) or o <= TARGETS["ack_p99_ms"])
        add(
            f"vs peer: ack p99 {at}", f"≤ peer's or {TARGETS['ack_p99_ms']:g} ms", o, ok,
            f"peer {_f(p)} ms",
        )  # fmt: skip


def markdown(results: dict[str, Any]) -> list[str]:
    sc = results["scenarios"]
    block = sc.get("peer")
    if not block:
        return []
    pairs = _pairs(sc)
    lines = [
        "",
        "## Ours beside a hand-built Celery peer (same Ekuaibao work, one run)",
        "",
        f"Ours: `invoicebot serve --http --no-worker` + one `invoicebot worker` on its "
        f"defaults; peer: `bench/peer_app.py` + `celery --pool prefork --concurrency 16`. "
        f"{block['users']} Slack users round-robin, each warmed once; missing = no answer "
        f"{block['grace_s']:g} s after the last command; ratio = ours ÷ peer.",
        "",
        "| rate | figure | ours | peer | ours ÷ peer |",
        "|---|---|---|---|---|",
    ]
    for rate, ours, peer_row in pairs:
        for key, title, digits in METRICS:
            o, p = ours.get(key), peer_row.get(key)
            numbers = isinstance(o, int | float) and isinstance(p, int | float)
            ratio = o / p if numbers and p else None
            lines.append(
                f"| {rate:g}/s | {title} | {_f(o, digits)} | {_f(p, digits)} | {_f(ratio, 2)} |"
            )
        lines.append(
            f"| {rate:g}/s | sent / wrong replies / first | {ours['sent']} / "
            f"{ours['wrong_replies']} | {peer_row['sent']} / {peer_row['wrong_replies']} "
            f"| {ours['first']} first |"
        )
    one = block.get("one_user")
    if one:
        label = f"{one['rate']:g}/s, one person¹"
        for key, title, digits in METRICS:
            lines.append(f"| {label} | {title} | {_f(one.get(key), digits)} | — | — |")
        lines += [
            "",
            f"¹ One person sending {one['rate']:g}/s (ours only): capped at "
            "LOOKUPS_PER_PERSON in flight by design; the rest wait their turn (and are told so: "
            "those notes count in its CPU per reply). "
            f"{one['sent'] - one['unanswered']} of {one['sent']} answered within the grace.",
        ]
    return lines
