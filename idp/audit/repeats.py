"""Aggregating repeated rejections from one address, so a flood is not a write flood.

Every rejected request is still audited, but per (kind, IP) only the first one in each
fixed window of WINDOW seconds writes a row; the rest are counted in the shared counter
store (Redis when configured). The first row of the next window carries how many were
folded into the previous one (`repeats_in_previous_window`). Rows are ordinary appends,
so the hash chain is untouched.
"""

from __future__ import annotations

WINDOW = 60


def _key(prefix: str, kind: str, ip: str, bucket: int) -> str:
    return f"{prefix}/audit-repeats/{kind}/{ip}/{bucket}"


def claim_row(storage, prefix: str, kind: str, ip: str, now: float) -> tuple[bool, int]:
    """(whether this rejection writes a row, repeats folded into the previous window).

    `storage` is a `limits` storage: `incr` is atomic there, so exactly one request per
    window and address claims the row across every worker and instance.
    """
    bucket = int(now // WINDOW)
    count = storage.incr(_key(prefix, kind, ip, bucket), 3 * WINDOW)
    if count != 1:
        return False, 0
    previous = storage.get(_key(prefix, kind, ip, bucket - 1))
    return True, max(0, int(previous or 0) - 1)
