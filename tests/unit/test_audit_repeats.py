"""idp.audit.repeats: one row per kind, address and window; the next window's row
carries how many were folded into the previous one."""

from __future__ import annotations

from limits.storage import MemoryStorage

from idp.audit.repeats import WINDOW, RepeatGate, allowance, claim_row


def test_one_row_per_window_and_the_count_carried_over():
    storage = MemoryStorage()
    start = 1_000 * WINDOW
    claims = [claim_row(storage, "p", "http.csrf.rejected:failure", "192.0.2.1", start + i)
              for i in range(5)]
    assert claims == [(True, 0)] + [(False, 0)] * 4
    assert claim_row(storage, "p", "http.csrf.rejected:failure", "192.0.2.1",
                     start + WINDOW) == (True, 4)
    # Another address, kind or deployment prefix has its own row.
    assert claim_row(storage, "p", "http.csrf.rejected:failure", "192.0.2.2", start)[0]
    assert claim_row(storage, "p", "auth.login:rate_limited", "192.0.2.1", start)[0]
    assert claim_row(storage, "q", "http.csrf.rejected:failure", "192.0.2.1", start)[0]


def test_an_allowance_of_rows_before_folding():
    storage = MemoryStorage()
    start = 2_000 * WINDOW
    writes = [claim_row(storage, "p", "auth.login:invalid_password", "192.0.2.1", start, 3)
              for _ in range(7)]
    assert [w for w, _ in writes] == [True] * 3 + [False] * 4
    assert claim_row(storage, "p", "auth.login:invalid_password", "192.0.2.1",
                     start + WINDOW, 3) == (True, 4)


def test_what_is_aggregated():
    assert allowance("auth.login", "invalid_password") == 10
    assert allowance("auth.login", "rate_limited") == 1
    assert allowance("http.csrf.rejected", "failure") == 1
    assert allowance("auth.login", "success") is None
    assert allowance("user.locked", "success") is None
    assert allowance("oauth.token.reuse_detected", "failure") is None


class _BrokenStore:
    calls = 0

    def incr(self, *args, **kwargs):
        self.calls += 1
        raise ConnectionError("counter store unreachable")


def test_a_broken_store_writes_every_row_and_is_left_alone_for_a_while():
    store, now = _BrokenStore(), [100.0]
    gate = RepeatGate(store, "p", lambda: now[0])
    assert gate("auth.login", "invalid_password", "192.0.2.1") == (True, 0)
    assert gate("auth.login", "invalid_password", "192.0.2.1") == (True, 0)
    assert store.calls == 1
    now[0] += RepeatGate.RETRY_AFTER + 1
    gate("auth.login", "invalid_password", "192.0.2.1")
    assert store.calls == 2
