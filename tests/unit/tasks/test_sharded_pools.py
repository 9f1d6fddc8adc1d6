"""A few connection pools, each thread keeping to one of them, dealt out in turn."""

import threading
from collections import Counter

import httpx

from tasks.lean_http import ThreadShardedTransport


class Pool(httpx.BaseTransport):
    def __init__(self) -> None:
        self.users: list[int] = []
        self.closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.users.append(threading.get_ident())
        return httpx.Response(200)

    def close(self) -> None:
        self.closed = True


def test_threads_keep_to_one_pool_and_share_them_evenly() -> None:
    pools = [Pool(), Pool(), Pool()]
    transport = ThreadShardedTransport(list(pools))
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
    owners = [set(pool.users) for pool in pools]
    assert all(count == 5 for pool in pools for count in Counter(pool.users).values())
    assert not (owners[0] & owners[1]) and not (owners[1] & owners[2])
    assert not (owners[0] & owners[2])
    assert sorted(len(o) for o in owners) == [4, 4, 4]  # 12 threads dealt out in turn
    transport.close()
    assert all(pool.closed for pool in pools)
