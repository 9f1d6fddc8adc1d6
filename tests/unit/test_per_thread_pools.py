"""A connection pool per thread: each thread keeps to its own, made on its first request."""

import threading

import httpx
import pytest

from tasks.lean_http import PerThreadTransport

pytestmark = pytest.mark.no_net


class Pool(httpx.BaseTransport):
    def __init__(self) -> None:
        self.users: set[int] = set()
        self.requests = 0
        self.closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.users.add(threading.get_ident())
        self.requests += 1
        return httpx.Response(200)

    def close(self) -> None:
        self.closed = True


def test_each_thread_has_its_own_pool_made_on_first_use() -> None:
    made: list[Pool] = []

    def make() -> Pool:
        made.append(Pool())
        return made[-1]

    transport = PerThreadTransport(make)
    assert made == []  # nothing made before a thread asks
    client = httpx.Client(transport=transport, base_url="http://ekb.test")
    start = threading.Barrier(6)

    def work() -> None:
        start.wait()
        for _ in range(5):
            client.get("/x")

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 6
    assert all(len(pool.users) == 1 and pool.requests == 5 for pool in made)
    assert len({next(iter(pool.users)) for pool in made}) == 6
    transport.close()
    assert all(pool.closed for pool in made)
