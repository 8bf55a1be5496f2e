"""Aggregating repeated failures from one address, so a flood is not a write flood.

Every rejected attempt is still audited, but per (event type, outcome, IP) only the
first few in each fixed window of WINDOW seconds write their own row; the rest are
counted in the shared counter store (Redis when configured, atomic across workers and
instances). The first row of the next window carries how many were folded into the
previous one (`details.repeats_in_previous_window`). Rows stay ordinary appends, so the
hash chain and `idp audit verify` are untouched. Successes are never aggregated.
"""

from __future__ import annotations

from idp.audit.events import EventType, Outcome

WINDOW = 60
# Refusals say the same thing each time: one row per window. Failed credentials keep a
# row each for the first few (who was tried), then fold.
REFUSALS = {str(EventType.CSRF_REJECTED), str(EventType.ADMIN_INPUT_REJECTED)}
CREDENTIAL_FAILURES = {str(EventType.LOGIN), str(EventType.MFA),
                       str(EventType.CLIENT_AUTH_FAILED)}
CREDENTIAL_ALLOWANCE = 10


def allowance(type_: str, outcome: str) -> int | None:
    """Rows per window before repeats fold, or None when every event is written."""
    if outcome == Outcome.RATE_LIMITED or type_ in REFUSALS:
        return 1
    if type_ in CREDENTIAL_FAILURES and outcome != Outcome.SUCCESS:
        return CREDENTIAL_ALLOWANCE
    return None


def _key(prefix: str, kind: str, ip: str, bucket: int) -> str:
    return f"{prefix}/audit-repeats/{kind}/{ip}/{bucket}"


def claim_row(storage, prefix: str, kind: str, ip: str, now: float,
              rows: int = 1) -> tuple[bool, int]:
    """(whether this event writes a row, repeats folded into the previous window).

    `storage` is a `limits` storage, whose `incr` is atomic: exactly `rows` events per
    window and address claim a row, whichever worker or instance they reach.
    """
    bucket = int(now // WINDOW)
    count = storage.incr(_key(prefix, kind, ip, bucket), 3 * WINDOW)
    if count > rows:
        return False, 0
    if count != 1:
        return True, 0
    previous = storage.get(_key(prefix, kind, ip, bucket - 1))
    return True, max(0, int(previous or 0) - rows)


class RepeatGate:
    """What `record` asks before writing a repeatable failure (set on a request's context)."""

    RETRY_AFTER = 5.0  # seconds without the store after it failed

    def __init__(self, storage, prefix: str, clock):
        self.storage = storage
        self.prefix = prefix
        self.clock = clock  # () -> float, seconds
        self._store_down_until = 0.0

    def __call__(self, type_: str, outcome: str, ip: str | None) -> tuple[bool, int]:
        rows = allowance(type_, outcome)
        now = self.clock()
        if rows is None or not ip or now < self._store_down_until:
            return True, 0
        try:
            return claim_row(self.storage, self.prefix, f"{type_}:{outcome}", ip, now, rows)
        except Exception:  # noqa: BLE001 - counter store down: write the row (fail closed)
            # ...and stop asking it for a while, so an outage does not add a timeout to
            # every failed attempt.
            self._store_down_until = now + self.RETRY_AFTER
            return True, 0
