"""The reply ledger: one claim answers "may I post?" and "was it answered?" together."""

from tasks.shared.dedup import make_ledger


def test_claim_then_done_then_refused(tmp_path) -> None:
    ledger = make_ledger(None, tmp_path)
    assert ledger.state("r1") is None
    assert ledger.claim("r1", 20) is None  # taken
    assert ledger.claim("r1", 20) == "posting"  # someone is posting right now
    ledger.finish("r1", 3600)
    assert ledger.claim("r1", 20) == "done"
    assert ledger.state("r1") == "done"
    assert ledger.claim("r2", 20) is None  # other requests are independent


def test_an_expired_claim_can_be_taken_again(tmp_path) -> None:
    ledger = make_ledger(None, tmp_path)
    assert ledger.claim("r1", -1) is None  # a claim whose worker died long ago
    assert ledger.claim("r1", 20) is None
