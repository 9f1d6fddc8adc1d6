"""The shared Ekuaibao budget: a token bucket that hands out waits, never busy-loops."""

import httpx
import pytest

from tasks.ratelimit import MAX_WAIT_S, RateLimited, RateLimitedTransport, SQLiteRateLimiter

pytestmark = pytest.mark.no_net


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_one_slot_per_interval(tmp_path) -> None:
    clock = Clock()
    bucket = SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=5, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0, 0, 0]
    waits = [bucket.reserve() for _ in range(3)]
    assert waits == pytest.approx([0.2, 0.4, 0.6])
    clock.now += 2  # refilled: 10 tokens' worth, capped at the burst
    assert bucket.reserve() == 0


def test_processes_share_the_bucket_through_the_file(tmp_path) -> None:
    clock = Clock()
    first = SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=1, burst=1, clock=clock)
    second = SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=1, burst=1, clock=clock)
    assert first.reserve() == 0
    assert second.reserve() == pytest.approx(1.0)


def test_transport_waits_for_its_slot_or_refuses_a_long_wait(tmp_path) -> None:
    clock = Clock()
    slept: list[float] = []
    bucket = SQLiteRateLimiter(tmp_path / "rate.sqlite3", rate=1, burst=1, clock=clock)
    inner = httpx.MockTransport(lambda request: httpx.Response(200, json={"items": []}))
    client = httpx.Client(
        transport=RateLimitedTransport(inner, bucket, sleep=slept.append),
        base_url="https://ekb.test",
    )
    assert client.post("/x").status_code == 200 and slept == []
    assert client.post("/x").status_code == 200 and slept == [pytest.approx(1.0)]
    for _ in range(int(MAX_WAIT_S) + 1):
        bucket.reserve()
    with pytest.raises(RateLimited):
        client.post("/x")
