"""Memory of ours over many lookups: does any process grow?

Ours as in the peer comparison (``invoicebot serve --http --no-worker`` + one
``invoicebot worker`` on its defaults, Redis) serves `--memory-lookups` lookups (10,000) from
the bench's many users, open loop at `--memory-rate`, in batches of `BATCH`; after the
warm-up and after each batch's replies are in, the resident set (``VmRSS`` of
``/proc/<pid>/status``) of the bot and of every process of the worker (its Celery children
included, found by walking ``/proc``) is read. Growth is judged from the first batch on:
the first lookups also load code and fill caches that then stay.
"""

from __future__ import annotations

import time
from typing import Any

from bench.loadgen import build, collect_replies, descendants, send_open_loop
from bench.peer_compare import start_ours
from bench.standins import bench_user_ids

BATCH = 1000
#: A batch's answers are waited for this long after its last send (then it counts missing).
BATCH_GRACE_S = 60.0


def rss_mb(pid: int) -> float | None:
    """The resident set of one process in MB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _command(pid: int) -> str:
    """What runs in the process, e.g. `bot.cli worker` (every process here is `python`)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    args = args[args.index("-m") + 1 :] if "-m" in args else args[1:]
    return " ".join(a for a in args[:3] if a)


def sample(system: Any) -> dict[str, dict[str, Any]]:
    """RSS of every process of the bot and of the workers, keyed by role and pid."""
    out: dict[str, dict[str, Any]] = {}
    for role, roots in (("bot", system.app_pids()), ("worker", system.worker_pids())):
        for root in roots:
            for pid in descendants(root):
                mb = rss_mb(pid)
                if mb is not None:
                    name = role if pid == root else f"{role} child"
                    command = _command(pid)
                    out[f"{name} {pid}"] = {"role": name, "pid": pid, "command": command, "mb": mb}
    return out


def memory(run: Any, cfg: Any) -> dict[str, Any]:
    users = bench_user_ids(cfg.users if cfg.users > 1 else 200)
    total, rate = cfg.memory_lookups, cfg.memory_rate
    folder = cfg.folder / "memory"
    folder.mkdir(parents=True, exist_ok=True)
    run.log(f"memory: {total} lookups at {rate:g} req/s from {len(users)} users, RSS sampled")
    samples: list[dict[str, Any]] = []
    sent = replied = wrong = unacked = 0
    started = time.time()
    with run.stand_ins(cfg, folder) as standins:
        system = start_ours(run, standins, folder)
        try:
            warm = build(
                system.secret,
                run.commands_for(["ids5"], len(users), standins, seed=1),
                standins.response_urls(len(users)),
                users,
            )
            send_open_loop(system.url, warm, run.WARMUP_MANY_USERS_RATE)
            collect_replies(standins, warm, grace_s=cfg.grace_s, quiet_s=0.5)
            samples.append({"lookups": 0, "replied": 0, "rss": sample(system)})
            while sent < total:
                n = min(BATCH, total - sent)
                batch = build(
                    system.secret,
                    run.commands_for(["ids5"], n, standins, seed=sent + 2),
                    standins.response_urls(n),
                    users,
                )
                send_open_loop(system.url, batch, rate, priority=cfg.priority)
                collect_replies(standins, batch, grace_s=BATCH_GRACE_S, quiet_s=0.5)
                sent += n
                replied += sum(o.right for o in batch)
                wrong += sum(o.replied and not o.right for o in batch)
                unacked += sum(not o.acked for o in batch)
                samples.append({"lookups": sent, "replied": replied, "rss": sample(system)})
                run.log(f"  memory: {sent} sent, {replied} replied; {_brief(samples[-1]['rss'])}")
        finally:
            system.stop()
    return {
        "lookups": total,
        "rate": rate,
        "users": len(users),
        "sent": sent,
        "replied": replied,
        "wrong_replies": wrong,
        "unacked": unacked,
        "wall_s": time.time() - started,
        "samples": samples,
        "processes": _processes(samples),
    }


def _brief(rss: dict[str, dict[str, Any]]) -> str:
    return ", ".join(f"{key} {p['mb']:.1f} MB" for key, p in rss.items())


def _at(samples: list[dict[str, Any]], lookups: int) -> dict[str, Any] | None:
    """The first sample taken at or after `lookups` lookups."""
    return next((s for s in samples if s["lookups"] >= lookups), None)


def _processes(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per process: MB at start, after the first batch, at the end; growth since the batch."""
    if not samples:
        return []
    first, last = samples[0], samples[-1]
    after_batch = _at(samples, BATCH) or last
    out = []
    for key in dict.fromkeys([*first["rss"], *last["rss"]]):
        info = last["rss"].get(key) or first["rss"][key]
        start = first["rss"].get(key, {}).get("mb")
        one_k = after_batch["rss"].get(key, {}).get("mb")
        end = last["rss"].get(key, {}).get("mb")
        peak = max((s["rss"][key]["mb"] for s in samples if key in s["rss"]), default=None)
        growth = end - one_k if end is not None and one_k is not None else None
        out.append(
            {
                "process": key,
                "role": info["role"],
                "command": info["command"],
                "start_mb": start,
                "after_first_batch_mb": one_k,
                "end_mb": end,
                "peak_mb": peak,
                "growth_since_first_batch_mb": growth,
            }
        )
    return out


def _f(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def evaluate(results: dict[str, Any], add: Any) -> None:
    mem = results["scenarios"].get("memory")
    if not mem:
        return
    for p in mem["processes"]:
        if p["role"] == "bot" or p["end_mb"] is None:
            continue
        add(
            f"memory: RSS of {p['process']} after {mem['sent']} lookups",
            "documented",
            p["end_mb"],
            None,
            f"{_f(p['after_first_batch_mb'])} MB after {BATCH}; growth since "
            f"{_f(p['growth_since_first_batch_mb'])} MB",
        )


def markdown(results: dict[str, Any]) -> list[str]:
    mem = results["scenarios"].get("memory")
    if not mem:
        return []
    lines = [
        "",
        f"## Memory of ours over {mem['sent']} lookups ({mem['rate']:g} req/s, "
        f"{mem['users']} users; {mem['replied']} answered within {BATCH_GRACE_S:g} s of their "
        f"batch, {mem['wrong_replies']} wrong, {mem.get('unacked', 0)} not acknowledged)",
        "",
        f"| process | command | MB at start | MB after {BATCH} | MB at the end | peak MB "
        f"| growth since {BATCH} MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in mem["processes"]:
        lines.append(
            f"| {p['process']} | {p['command']} | {_f(p['start_mb'])} "
            f"| {_f(p['after_first_batch_mb'])} | {_f(p['end_mb'])} | {_f(p['peak_mb'])} "
            f"| {_f(p['growth_since_first_batch_mb'])} |"
        )
    return lines
