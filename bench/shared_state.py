"""Micro-benchmark of the shared state in Redis: P processes × N greenlets (or threads)
updating one hot key, or a key each, through the real classes (`InFlight` enter + leave
pairs, or the Ekuaibao budget's `take` with a budget too generous to ever make anyone wait;
or, `--what line`, at the default 5/s, every greenlet's call waiting in line and polling).

    python -m bench.shared_state                       # inflight and budget, hot and many keys
    python -m bench.shared_state --what inflight --keys hot --procs 2 --greenlets 64

Reports updates/s, the CPU each update costs the clients and the Redis server (`INFO cpu`
delta: the whole server, so other users of it show up as noise), and the WATCH conflicts
(`WatchError`s, each one a transaction run again) per update. Uses Redis database 13, or
`BENCH_REDIS_URL`, and flushes it first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
#: A budget nobody waits for: the bench measures the store, not the line.
RATE, BURST = 1000.0, 10_000_000
#: ...and the default one, for the case of a long line.
LINE_RATE = 5.0


def _count_conflicts() -> list[int]:
    """Count every WatchError a transaction's EXEC raises (a write lost to another writer)."""
    import redis.client

    seen = [0]
    execute = redis.client.Pipeline.execute

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return execute(self, *args, **kwargs)
        except redis.WatchError:
            seen[0] += 1
            raise

    redis.client.Pipeline.execute = counted  # type: ignore[method-assign]
    return seen


def _workers(what: str, keys: list[str]) -> list[Any]:
    """One callable per greenlet doing one unit of work on its key, returning the number of
    store updates it made; the objects shared as in a worker process (one `InFlight`, one
    limiter per tenant key)."""
    if what == "inflight":
        from tasks.state.inflight import make_inflight

        inflight = make_inflight(REDIS_URL, None, per_person=10_000)  # type: ignore[arg-type]

        def pair(key: str, n: int, i: int) -> int:
            lookup = f"{key}-{n}-{i}"
            inflight.enter(key, lookup)
            inflight.leave(key, lookup)
            return 2

        return [lambda i, key=key, n=n: pair(key, n, i) for n, key in enumerate(keys)]
    from tasks.ekuaibao.budget import MIN_POLL_S, POLL_S
    from tasks.ekuaibao.budget_redis import RedisRateLimiter
    from tasks.ekuaibao.line import Caller

    if what == "budget":
        limiters = {key: RedisRateLimiter(REDIS_URL, key, RATE, BURST) for key in keys}

        def take(key: str, n: int, i: int) -> int:
            grant = limiters[key].take(1, caller=Caller(f"{n}-{i}", f"t{n}", f"p{n}", "bulk"))
            assert grant.granted == 1, grant
            return 1

        return [lambda i, key=key, n=n: take(key, n, i) for n, key in enumerate(keys)]
    # "line": the default budget, every greenlet's call waiting its turn and polling.
    line = {key: RedisRateLimiter(REDIS_URL, key, LINE_RATE, 1) for key in keys}
    calls = [Caller(f"{n}-0", f"t{n}", f"p{n % 8}", "bulk") for n in range(len(keys))]

    def poll(key: str, n: int, _i: int) -> int:
        grant = line[key].take(1, caller=calls[n])
        if grant.granted or not grant.queued:
            calls[n] = Caller(f"{n}-{uuid.uuid4().hex}", f"t{n}", f"p{n % 8}", "bulk")
        time.sleep(min(max(grant.wait_s, MIN_POLL_S), POLL_S))
        return 1

    return [lambda i, key=key, n=n: poll(key, n, i) for n, key in enumerate(keys)]


def child(args: argparse.Namespace) -> None:
    if args.pool == "gevent":
        from gevent import monkey

        monkey.patch_all()
    import threading

    conflicts = _count_conflicts()
    counts = [0] * args.greenlets
    keys = ["hot" if args.keys == "hot" else f"k{args.proc}-{n}" for n in range(args.greenlets)]
    work = _workers(args.what, keys)

    def loop(n: int) -> None:
        i = 0
        while time.time() < args.start_at:  # connect and warm up until everyone starts
            work[n](-1 - i)
            i += 1
            time.sleep(0.01)
        i = 0
        while time.time() < args.start_at + args.seconds:
            counts[n] += work[n](i)
            i += 1

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(args.greenlets)]
    for thread in threads:
        thread.start()
    while time.time() < args.start_at:
        time.sleep(0.01)
    cpu0, conflicts0 = time.process_time(), conflicts[0]
    for thread in threads:
        thread.join()
    cpu = time.process_time() - cpu0
    print(json.dumps({"updates": sum(counts), "cpu": cpu, "conflicts": conflicts[0] - conflicts0}))


def _redis_cpu() -> float:
    import redis

    info = redis.Redis.from_url(REDIS_URL).info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def run(what: str, keys: str, procs: int, greenlets: int, pool: str, seconds: float) -> dict:
    start_at = time.time() + 2.0 + 0.3 * procs
    cmd = [sys.executable, "-m", "bench.shared_state", "--child", "--what", what, "--keys", keys]
    cmd += ["--greenlets", str(greenlets), "--pool", pool, "--seconds", str(seconds)]
    cmd += ["--start-at", repr(start_at), "--proc"]
    children = [subprocess.Popen([*cmd, str(p)], stdout=subprocess.PIPE) for p in range(procs)]
    while time.time() < start_at:
        time.sleep(0.005)
    server0 = _redis_cpu()
    time.sleep(seconds)
    server = _redis_cpu() - server0
    results = [json.loads(c.communicate()[0]) for c in children]
    updates = sum(r["updates"] for r in results) or 1
    return {
        "what": what,
        "keys": keys,
        "shape": f"{procs}×{greenlets} {pool}",
        "updates/s": updates / seconds,
        "client µs/update": 1e6 * sum(r["cpu"] for r in results) / updates,
        "redis µs/update": 1e6 * server / updates,
        "conflicts/update": sum(r["conflicts"] for r in results) / updates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--what", choices=["inflight", "budget", "line", "both"], default="both")
    parser.add_argument("--keys", choices=["hot", "many", "both"], default="both")
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--greenlets", type=int, default=64)
    parser.add_argument("--pool", choices=["gevent", "threads"], default="gevent")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--proc", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    whats = ["inflight", "budget"] if args.what == "both" else [args.what]
    keyses = ["hot", "many"] if args.keys == "both" else [args.keys]
    print("| what | keys | shape | updates/s | client µs/upd | redis µs/upd | conflicts/upd |")
    print("|---|---|---|---:|---:|---:|---:|")
    for what in whats:
        for keys in keyses:
            row = run(what, keys, args.procs, args.greenlets, args.pool, args.seconds)
            print(
                f"| {row['what']} | {row['keys']} | {row['shape']} | {row['updates/s']:.0f} "
                f"| {row['client µs/update']:.0f} | {row['redis µs/update']:.0f} "
                f"| {row['conflicts/update']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
