"""Small per-thread connection pools: each thread keeps to one, and they are used evenly."""

import threading
from collections import Counter

import httpx
import pytest

from tasks.lean_http import ThreadShardedTransport

pytestmark = pytest.mark.no_net


class Pool(httpx.BaseTransport):
    def __init__(self, name: int) -> None:
        self.name = name
        self.users: list[int] = []
        self.closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.users.append(threading.get_ident())
        return httpx.Response(200, text=str(self.name))

    def close(self) -> None:
        self.closed = True


def test_threads_keep_to_one_pool_and_share_them_evenly() -> None:
    made: list[Pool] = []

    def make() -> Pool:
        made.append(Pool(len(made)))
        return made[-1]

    transport = ThreadShardedTransport(make, threads=40, threads_per_pool=16)
    assert len(made) == 3  # ceil(40 / 16)
    client = httpx.Client(transport=transport, base_url="http://ekb.test")
    start = threading.Barrier(12)

    def work() -> None:
        start.wait()
        for _ in range(5):
            client.get("/x")

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for pool in made:  # a thread's requests all went to one pool...
        assert all(Counter(p.users)[t] == 5 for p in [pool] for t in set(p.users))
    owners = [{t for t in pool.users} for pool in made]
    assert not (owners[0] & owners[1]) and not (owners[1] & owners[2])
    assert sorted(len(o) for o in owners) == [4, 4, 4]  # ...and the 12 threads spread evenly
    transport.close()
    assert all(pool.closed for pool in made)
