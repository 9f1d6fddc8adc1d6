"""The Redis versions of the state workers share: reply ledger and Ekuaibao budget."""

import time

import pytest

from tasks.shared.dedup import make_ledger
from tests.integration.conftest import flush_redis, require_redis
from tests.integration.harness import REDIS_URL


@pytest.fixture(autouse=True)
def _redis() -> None:
    require_redis()
    flush_redis()


def test_ledger_claim_reports_who_holds_the_reply(tmp_path) -> None:
    ledger = make_ledger(REDIS_URL, tmp_path)
    assert ledger.state("r1") is None
    assert ledger.claim("r1", 20) is None
    assert ledger.claim("r1", 20) == "posting"
    ledger.finish("r1", 3600)
    assert ledger.claim("r1", 20) == "done"
    assert ledger.state("r1") == "done"


def test_ledger_claim_expires(tmp_path) -> None:
    ledger = make_ledger(REDIS_URL, tmp_path)
    assert ledger.claim("r1", 1) is None
    time.sleep(1.2)
    assert ledger.claim("r1", 20) is None


def test_the_redis_broker_reuses_one_client_per_channel(monkeypatch) -> None:
    from tasks.broker import redis_transport
    from tasks.celery_app import create_app
    from tasks.settings import BrokerSettings

    monkeypatch.setenv("CELERY_BROKER_URL", REDIS_URL)
    app = create_app(BrokerSettings())
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, redis_transport.Transport)
        channel = connection.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
        producer = connection.Producer(channel)
        for n in range(2):
            producer.publish({"n": n}, routing_key="invoicebot-test", declare=[])
        with channel.conn_or_acquire() as third:
            assert third is first
            assert third.llen("invoicebot-test") == 2


def test_report_cache_keeps_ids_and_types_per_tenant(tmp_path) -> None:
    from tasks.ekuaibao.masters import ReportInvoiceRef
    from tasks.state.report_cache import TTL_S, make_report_cache

    refs = [
        ReportInvoiceRef(invoice_id="c:1:2", item_ids=("L1", "L$2"), invoice_type="invoice"),
        ReportInvoiceRef(invoice_id="ID_t", item_ids=(), invoice_type=None),
    ]
    mine = make_report_cache(REDIS_URL, "tenant-a", tmp_path)
    theirs = make_report_cache(REDIS_URL, "tenant-b", tmp_path)
    assert mine.get("B1") is None
    mine.put("B1", refs)
    assert mine.get("B1") == refs
    assert theirs.get("B1") is None  # another tenant's report of the same code
    import redis

    ttl = redis.Redis.from_url(REDIS_URL).ttl("invoicebot:report:tenant-a:B1")
    assert 0 < ttl <= TTL_S


def test_leases_are_renewed_only_for_messages_the_worker_still_holds() -> None:
    """A running task's message is re-stamped; one whose task ended unacknowledged (failed,
    to be redelivered) keeps its old stamp, so kombu restores it after the timeout."""
    from kombu import Connection, Queue

    from tasks.broker import redis_transport

    connection = Connection(REDIS_URL, transport=redis_transport.Transport)
    with connection:
        queue = Queue("invoicebot-lease-test", routing_key="invoicebot-lease-test")
        producer = connection.Producer()
        for n in range(2):
            producer.publish({"n": n}, routing_key=queue.name, declare=[queue])
        channel = connection.default_channel
        running, failed = (channel.basic_get(queue.name, no_ack=False) for _ in range(2))
        assert running is not None and failed is not None
        with channel.conn_or_acquire() as client:
            stamped = {tag: client.zscore("unacked_index", tag) for tag in channel.qos._delivered}
        time.sleep(0.05)
        assert channel.renew_leases({running.delivery_tag}) == 1
        with channel.conn_or_acquire() as client:
            assert (
                client.zscore("unacked_index", running.delivery_tag) > stamped[running.delivery_tag]
            )
            assert (
                client.zscore("unacked_index", failed.delivery_tag) == stamped[failed.delivery_tag]
            )
        running.ack()
        assert channel.renew_leases({running.delivery_tag}) == 0  # acked: never re-added
        with channel.conn_or_acquire() as client:
            assert client.zscore("unacked_index", running.delivery_tag) is None
