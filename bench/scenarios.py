"""The scenarios of a rationed, flaky or busy Ekuaibao, as people meet them.

* **rationed-burst**: two bots and two workers on Redis with the *default* Ekuaibao budget
  (`EKUAIBAO_RATE_LIMIT` / `BURST` unset), 40 mixed `/invoice` commands at once, half to
  each bot (month-end: an approver team). When is each person answered, and what were
  they told?
* **flaky**: one bot and one worker (defaults, budget raised as in the steady runs), the
  Ekuaibao stand-in failing 30 % of API calls at random (502; `BENCH_FLAKY_SEED` picks
  the pattern), 20 mixed commands at once.

A mixed lookup is 4 VAT invoices and one taxi ticket whose type the workers know from a
report search in the warm-up: 4 Ekuaibao calls (`mixed_commands`).
* **steady-one-worker**: one bot and *one* `invoicebot worker` on its defaults (pool and
  concurrency unset), open loop at steady rates; measured like the main Redis scenario.

Every answer is taken from the Slack stand-in: its arrival time, and the notes that came
before it (a "lookups ahead of yours" note, or "Ekuaibao is slow").
"""

from __future__ import annotations

import os
import random
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.loadgen import Command, Outcome, build, percentile, send_open_loop
from bench.standins import StandIns

SLOW_NOTE = "Ekuaibao is slow"
QUEUED_NOTE = "ahead of yours"
BURST_LOOKUPS = 40
FLAKY_LOOKUPS = 20
FLAKY_FRACTION = 0.3
#: A mixed lookup: this many VAT invoices and one taxi ticket whose type the bot knows.
MIXED_VAT = 4
TARGETS = {
    "burst_median_ratio": 0.55,  # × (Ekuaibao calls made ÷ budget), plus:
    "burst_median_plus_s": 1.0,
    "burst_last_ratio": 1.05,  # × (Ekuaibao calls made ÷ budget)
    "flaky_within_s": 10.0,
    "steady_p99_floor_50": 1.10,
    "steady_p99_floor_100": 1.30,
    "steady_ack_p99_ms": 10.0,
    "steady_cpu_ms": 7.0,
    "report_first_look_ratio": 1.05,  # × two round trips (the report search comes first)
}


def default_budget() -> tuple[float, int]:
    """The README's default budget, read from the settings themselves."""
    from tasks.settings import Settings

    fields = Settings.model_fields
    return float(fields["ekuaibao_rate_limit"].default), int(fields["ekuaibao_rate_burst"].default)


def start_fleet(
    run: Any,
    standins: StandIns,
    folder: Path,
    *,
    bots: int,
    workers: int,
    env: dict[str, str],
) -> list[Any]:
    """`bots` × `invoicebot serve --http --no-worker` and `workers` × `invoicebot worker` on
    the bench's Redis, sharing one signing secret (one Slack app); the first System holds
    every worker. `env` adds settings to the stand-ins' and credentials' environment."""
    import redis

    secret = secrets.token_hex(16)
    base = run.app_env(standins, secret)
    base.update(
        ACCESS_MODE="open",
        STATE_DIR=str(folder / "state"),
        LOG_LEVEL="INFO",
        CELERY_BROKER_URL=run.REDIS_URL,
        **env,
    )
    redis.Redis.from_url(run.REDIS_URL).flushdb()
    py = sys.executable
    systems = []
    for n in range(bots):
        port = run.free_port()
        log_path = folder / f"bot-{n}.log"
        args = [py, "-m", "bot.cli", "serve", "--http", "--port", str(port), "--no-worker"]
        app = run._spawn(args, base, log_path, folder)
        url = f"http://127.0.0.1:{port}/slack/events"
        systems.append(run.System(f"bot-{n}", url, secret, app, []))
        try:
            run._wait_listening(port, app, "/healthz", log_path)
        except Exception:
            for system in systems:
                system.stop()
            raise
    systems[0].workers = [
        run._spawn([py, "-m", "bot.cli", "worker"], base, folder / f"worker-{n}.log", folder)
        for n in range(workers)
    ]
    return systems


def _answers(
    standins: StandIns, outcomes: Sequence[Outcome], deadline_s: float, quiet_s: float = 2.0
) -> None:
    """Posts to each outcome until every one has its answer (or the deadline), then
    `quiet_s` more: a doubled answer would arrive by then."""
    by_key = {o.key: o for o in outcomes}
    deadline = time.time() + deadline_s

    def absorb() -> None:
        for post in standins.new_posts():
            if post.key in by_key:
                by_key[post.key].posts.append(post)

    while time.time() < deadline:
        absorb()
        if all(o.right for o in outcomes if o.acked):
            break
        time.sleep(0.2)
    quiet_until = time.time() + quiet_s
    while time.time() < quiet_until:
        time.sleep(0.25)
        absorb()


def _summary(outcomes: Sequence[Outcome], first_send: float) -> dict[str, Any]:
    answered: list[float] = []
    finals_per_lookup: list[int] = []
    slow = queued = 0
    for o in outcomes:
        ok = [p for p in o.posts if p.status == 200]
        finals = [p for p in ok if o.expect in p.text]
        finals_per_lookup.append(len(finals))
        if finals:
            answered.append(min(p.at for p in finals) - o.sent_at)
        slow += sum(SLOW_NOTE in p.text for p in ok)
        queued += sum(QUEUED_NOTE in p.text for p in ok)
    return {
        "sent": len(outcomes),
        "acked": sum(o.acked for o in outcomes),
        "answered": len(answered),
        "exactly_one_answer": sum(n == 1 for n in finals_per_lookup),
        "more_than_one_answer": sum(n > 1 for n in finals_per_lookup),
        "answer_p50_s": percentile(answered, 50),
        "answer_max_s": max(answered) if answered else None,
        "answers_s": sorted(round(a, 2) for a in answered),
        "slow_notes": slow,
        "queued_notes": queued,
        "first_send": first_send,
    }


def _call_times(outcomes: Sequence[Outcome], calls: Sequence[Any]) -> dict[str, Any]:
    """When each lookup's Ekuaibao calls arrived, after its command was sent (a call is a
    lookup's when its ids are among the lookup's): its first call and its last, p50 over
    lookups. A last call long after the first is a lookup whose calls waited apart."""
    firsts: list[float] = []
    lasts: list[float] = []
    for o in outcomes:
        mine = set(o.ids_key.split(","))
        times = [c.at for c in calls if c.ids_key and set(c.ids_key.split(",")) <= mine]
        if times:
            firsts.append(min(times) - o.sent_at)
            lasts.append(max(times) - o.sent_at)
    return {"first_call_p50_s": percentile(firsts, 50), "last_call_p50_s": percentile(lasts, 50)}


def _send_at_once(systems: Sequence[Any], outcomes: list[Outcome]) -> float:
    """All commands at once (1000 per second), spread over the bots, one thread each."""
    shares = [outcomes[n :: len(systems)] for n in range(len(systems))]
    started = time.time()
    threads = [
        threading.Thread(target=send_open_loop, args=(s.url, share, 1000.0), daemon=True)
        for s, share in zip(systems, shares, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return started


def mixed_commands(standins: StandIns, n: int, seed: int) -> list[Command]:
    """`n` lookups of MIXED_VAT VAT invoices plus one taxi ticket each (a different ticket
    each, while there are enough): four Ekuaibao calls a lookup (lines, links, the VAT
    masters, the ticket's master) once the ticket types are known (see `_warm`)."""
    rng = random.Random(seed)
    vat, tickets = standins.invoice_ids, standins.ticket_ids
    commands: list[Command] = []
    for i in range(n):
        ids = (*rng.sample(vat, MIXED_VAT), tickets[i % len(tickets)])
        commands.append(Command("mixed", " ".join(ids), f"{len(ids)} found, 0 not found", ids))
    return commands


def _warm(run: Any, systems: Sequence[Any], standins: StandIns) -> None:
    """One lookup through each bot (the token, the user's locale, connections), then a
    search of the tickets' report: the workers then know every ticket's type, as after
    someone looked at that report earlier in the day."""
    commands = run.commands_for(["ids5"], 1, standins, seed=3)
    tickets = Command("report", f"report {standins.ticket_report_code}", "20 found, 0 not found")
    for n, system in enumerate(systems):
        warm = build(
            system.secret,
            commands + ([tickets] if n == 0 else []),
            standins.response_urls(len(commands) + (n == 0)),
            run.USER_ID,
        )
        send_open_loop(system.url, warm, 1.0)
        _answers(standins, warm, 30.0, quiet_s=0.0)
        if not all(o.right for o in warm):
            raise RuntimeError("no answer to the warm-up lookups; see the logs")


def rationed_burst(run: Any, cfg: Any) -> dict[str, Any]:
    rate, burst = default_budget()
    folder = cfg.folder / "rationed-burst"
    folder.mkdir(parents=True, exist_ok=True)
    run.log(f"rationed-burst: {BURST_LOOKUPS} lookups at once, 2 bots + 2 workers, {rate:g}/s")
    with run.stand_ins(cfg, folder) as standins:
        systems = start_fleet(run, standins, folder, bots=2, workers=2, env={})
        try:
            _warm(run, systems, standins)
            time.sleep(burst / rate + 1)  # the budget refilled: the burst starts on a full one
            before = len(standins.calls())
            outcomes = build(
                systems[0].secret,
                mixed_commands(standins, BURST_LOOKUPS, seed=10),
                standins.response_urls(BURST_LOOKUPS),
                run.USER_ID,
            )
            started = _send_at_once(systems, outcomes)
            _answers(standins, outcomes, 180.0)
            calls = standins.calls()[before:]
        finally:
            for system in systems:
                system.stop()
    result = _summary(outcomes, started)
    needed = len(calls)
    # the first `burst` calls are free; the rest come at `rate` per second
    ideal = max(needed - burst, 0) / rate
    result.update(
        budget_rate=rate,
        budget_burst=burst,
        ekuaibao_calls=needed,
        calls_per_lookup=needed / max(1, BURST_LOOKUPS),
        calls_over_budget_s=needed / rate,
        ideal_last_s=ideal,
        ekuaibao_span_s=(calls[-1].at - calls[0].at) if calls else None,
        **_call_times(outcomes, calls),
    )
    run.log(
        f"rationed-burst: {result['answered']}/{BURST_LOOKUPS} answered, median "
        f"{run._fmt(result['answer_p50_s'])} s, last {run._fmt(result['answer_max_s'])} s; "
        f"{needed} calls ÷ {rate:g}/s = {needed / rate:.1f} s; {result['slow_notes']} slow "
        f"notes, {result['queued_notes']} queued notes"
    )
    return result


def flaky(run: Any, cfg: Any) -> dict[str, Any]:
    folder = cfg.folder / "flaky"
    folder.mkdir(parents=True, exist_ok=True)
    run.log(f"flaky: {FLAKY_LOOKUPS} lookups at once, {FLAKY_FRACTION:.0%} of calls fail")
    env = {"EKUAIBAO_RATE_LIMIT": run.RATE_LIMIT, "EKUAIBAO_RATE_BURST": run.RATE_BURST}
    with run.stand_ins(cfg, folder) as standins:
        systems = start_fleet(run, standins, folder, bots=1, workers=1, env=env)
        try:
            _warm(run, systems, standins)
            before = len(standins.calls())
            seed = int(os.environ.get("BENCH_FLAKY_SEED", "10"))  # another pattern of failures
            standins.fail_fraction(FLAKY_FRACTION, seed=seed)
            outcomes = build(
                systems[0].secret,
                mixed_commands(standins, FLAKY_LOOKUPS, seed=11),
                standins.response_urls(FLAKY_LOOKUPS),
                run.USER_ID,
            )
            started = _send_at_once(systems, outcomes)
            _answers(standins, outcomes, 120.0)
            calls = standins.calls()[before:]
        finally:
            for system in systems:
                system.stop()
    result = _summary(outcomes, started)
    failed = sum(c.status == 502 for c in calls)
    result.update(
        ekuaibao_calls=len(calls),
        failed_calls=failed,
        failed_fraction=failed / max(1, len(calls)),
    )
    run.log(
        f"flaky: {result['answered']}/{FLAKY_LOOKUPS} answered, median "
        f"{run._fmt(result['answer_p50_s'])} s, last {run._fmt(result['answer_max_s'])} s; "
        f"{failed} of {len(calls)} calls failed"
    )
    return result


def steady_one_worker(run: Any, cfg: Any, rates: Sequence[float]) -> list[dict[str, Any]]:
    env = {"EKUAIBAO_RATE_LIMIT": run.RATE_LIMIT, "EKUAIBAO_RATE_BURST": run.RATE_BURST}
    if cfg.steady_concurrency:
        env["WORKER_CONCURRENCY"] = str(cfg.steady_concurrency)

    def start(standins: StandIns, folder: Path) -> Any:
        return start_fleet(run, standins, folder, bots=1, workers=1, env=env)[0]

    return [
        run.session(cfg, "steady-one-worker", rate, cfg.duration, ["ids5"], start) for rate in rates
    ]


# -- targets and tables -----------------------------------------------------------------


def evaluate(
    results: dict[str, Any], add: Callable[[str, str, float | None, bool | None, str], None]
) -> None:
    sc, floor = results["scenarios"], results.get("floor") or {}
    burst = sc.get("rationed_burst")
    if burst:
        n = burst["sent"]
        answered = burst["answered"]
        add("rationed burst: answered", f"{n} of {n}", answered, answered == n, "")
        once = burst["exactly_one_answer"]
        add("rationed burst: exactly one answer each", f"{n} of {n}", once, once == n, "")
        median = burst["answer_p50_s"]
        over_budget = burst["calls_over_budget_s"]
        limit = TARGETS["burst_median_ratio"] * over_budget + TARGETS["burst_median_plus_s"]
        add(
            "rationed burst: median answer",
            f"≤ {TARGETS['burst_median_ratio']:g} × calls ÷ budget "
            f"+ {TARGETS['burst_median_plus_s']:g} s = {limit:.1f} s",
            median,
            median is not None and median <= limit,
            "",
        )
        limit = TARGETS["burst_last_ratio"] * burst["calls_over_budget_s"]
        last = burst["answer_max_s"]
        add(
            "rationed burst: last answer",
            f"≤ {TARGETS['burst_last_ratio']:g} × calls ÷ budget = {limit:.1f} s",
            last,
            last is not None and last <= limit,
            f"{burst['ekuaibao_calls']} calls at {burst['budget_rate']:g}/s "
            f"(burst {burst['budget_burst']})",
        )
        add(
            'rationed burst: "Ekuaibao is slow" notes',
            "0",
            burst["slow_notes"],
            burst["slow_notes"] == 0,
            f"{burst['queued_notes']} 'lookups ahead of yours' notes",
        )
    fl = sc.get("flaky")
    if fl:
        within = sum(a <= TARGETS["flaky_within_s"] for a in fl["answers_s"])
        add(
            f"flaky Ekuaibao: answered within {TARGETS['flaky_within_s']:g} s",
            f"{fl['sent']} of {fl['sent']}",
            within,
            within == fl["sent"],
            f"{fl['failed_calls']} of {fl['ekuaibao_calls']} calls failed; last "
            f"{_f(fl['answer_max_s'])} s",
        )
        add(
            "flaky Ekuaibao: exactly one answer each",
            f"{fl['sent']} of {fl['sent']}",
            fl["exactly_one_answer"],
            fl["exactly_one_answer"] == fl["sent"],
            "",
        )
    steady = sc.get("steady_one_worker") or []
    floor_ms = floor.get("floor_ms")
    cold = ((sc.get("sizes") or {}).get("by_kind") or {}).get("report_cold")
    if cold and floor_ms and cold.get("e2e_p50_ms"):
        value = cold["e2e_p50_ms"] / (2 * floor_ms)
        limit = TARGETS["report_first_look_ratio"]
        add(
            "a report's first look: e2e p50 ÷ two round trips",
            f"≤ {limit:.2f}×",
            value,
            value <= limit,
            f"{_f(cold['e2e_p50_ms'])} ms vs 2 × {_f(floor_ms)} ms",
        )
    for rate, key in ((50.0, "steady_p99_floor_50"), (100.0, "steady_p99_floor_100")):
        row = next((r for r in steady if r["rate"] == rate), None)
        if row is None or not floor_ms:
            continue
        value = (row["e2e_p99_ms"] or 0) / floor_ms
        add(
            f"one worker, defaults: e2e p99 ÷ floor @ {rate:g} req/s",
            f"≤ {TARGETS[key]:.2f}×",
            value,
            value <= TARGETS[key],
            f"{_f(row['e2e_p99_ms'])} ms vs {_f(floor_ms)} ms; "
            f"achieved {_f(row['achieved_rps'])} req/s",
        )
    if steady:
        lost = sum(r["lost"] for r in steady)
        add("one worker, defaults: lost (all rates)", "0", lost, lost == 0, "")
        for r in steady:
            if r["rate"] > 100:
                continue
            add(
                f"one worker, defaults: ack p99 @ {r['rate']:g} req/s",
                f"≤ {TARGETS['steady_ack_p99_ms']:g} ms",
                r["ack_p99_ms"],
                (r["ack_p99_ms"] or 0) <= TARGETS["steady_ack_p99_ms"],
                "",
            )
        worst = max(steady, key=lambda r: r["cpu_ms_per_reply"])
        add(
            "one worker, defaults: CPU per reply, bot + worker (worst rate)",
            f"≤ {TARGETS['steady_cpu_ms']:g} ms",
            worst["cpu_ms_per_reply"],
            worst["cpu_ms_per_reply"] <= TARGETS["steady_cpu_ms"],
            f"at {worst['rate']:g} req/s",
        )


def _f(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def markdown(results: dict[str, Any]) -> list[str]:
    sc = results["scenarios"]
    lines: list[str] = []
    burst, fl = sc.get("rationed_burst"), sc.get("flaky")
    if burst or fl:
        lines += [
            "",
            "### Rationed and flaky Ekuaibao (answer = command sent → its answer at Slack)",
            "",
            "| scenario | sent | answered | exactly one answer | answer p50 s | last s "
            "| Ekuaibao calls | budget | calls ÷ budget s | 'slow' notes | 'ahead' notes |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        if burst:
            lines.append(
                f"| rationed burst (2 bots, 2 workers, Redis) | {burst['sent']} "
                f"| {burst['answered']} | {burst['exactly_one_answer']} "
                f"| {_f(burst['answer_p50_s'])} | {_f(burst['answer_max_s'])} "
                f"| {burst['ekuaibao_calls']} | {burst['budget_rate']:g}/s, burst "
                f"{burst['budget_burst']} | {_f(burst['calls_over_budget_s'])} "
                f"| {burst['slow_notes']} | {burst['queued_notes']} |"
            )
        if fl:
            lines.append(
                f"| flaky, {FLAKY_FRACTION:.0%} of calls fail (1 bot, 1 worker) | {fl['sent']} "
                f"| {fl['answered']} | {fl['exactly_one_answer']} | {_f(fl['answer_p50_s'])} "
                f"| {_f(fl['answer_max_s'])} | {fl['ekuaibao_calls']} "
                f"({fl['failed_calls']} failed) | raised | — | {fl['slow_notes']} "
                f"| {fl['queued_notes']} |"
            )
    return lines
