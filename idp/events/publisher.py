"""Publish outbox rows to a Redis stream: at-least-once, in order, resumable.

Each row is added with the explicit stream id `<outbox id>-1`, so the stream order is the
commit order (appends are serialised by the audit chain lock) and a row re-sent after a
crash between XADD and the commit is refused by Redis as a duplicate instead of doubled.
Consumers resume from the last stream id they processed (XREAD / consumer groups).

The outbox id is not the event's identity: a database restore rewinds its sequence, and
new rows then reuse ids of events already in the stream. So a refused id counts as "sent"
only when the entry there carries the row's `event_id`; otherwise the row is appended at
the end of the stream and the conflict is logged as an error (docs/events.md).
"""

from __future__ import annotations

import json
import logging

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.models.base import utcnow
from idp.models.outbox import OutboxEvent

log = logging.getLogger(__name__)
# Here rather than in idp.metrics, which is an HTTP adapter; /metrics exports it all the same.
EVENT_ID_CONFLICTS = Counter("idp_events_stream_id_conflicts_total",
                             "Outbox rows whose stream id already held another event "
                             "(the database was restored); appended at the stream's end")
LOCK_TTL_MS = 30_000


def stream_name(prefix: str) -> str:
    """The Redis stream key for a deployment."""
    return f"{prefix}:events"


def _fields(row: OutboxEvent) -> dict:
    return {"event": row.name, "id": str(row.id), "event_id": str(row.event_id),
            "data": json.dumps(row.payload)}


def _same_event(entry: dict, fields: dict) -> bool:
    """Whether a stream entry is this row's event (entries from before event ids: by data)."""
    entry = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes)
                                                           else v) for k, v in entry.items()}
    if "event_id" in entry:
        return entry["event_id"] == fields["event_id"]
    return entry.get("data") == fields["data"]  # carries the audit id and the time in ms


def _report_conflict(row: OutboxEvent, stream_id: str) -> None:
    EVENT_ID_CONFLICTS.inc()
    log.error("event stream id %s already holds another event (database restored?); "
              "outbox row %s (event %s) appended at the end of the stream",
              stream_id, row.id, row.event_id)


def _xadd(redis, stream: str, row: OutboxEvent) -> None:
    fields = _fields(row)
    stream_id = f"{row.id}-1"
    try:
        redis.xadd(stream, fields, id=stream_id)
        return
    except Exception as exc:  # noqa: BLE001 - redis.ResponseError without importing redis here
        if "equal or smaller" not in str(exc):
            raise
    taken = redis.xrange(stream, min=stream_id, max=stream_id)
    if taken and _same_event(taken[0][1], fields):
        return  # sent before a crash, not yet marked published
    if taken:
        _report_conflict(row, stream_id)
    else:
        # The stream is ahead of the outbox ids (after a restore its tail is an appended
        # entry with a time-based id): keep appending at the end, in outbox order.
        log.info("outbox row %s appended at the end of the stream", row.id)
    # An earlier attempt may have appended it already and crashed before the commit.
    last = redis.xrevrange(stream, count=1)
    if not (last and _same_event(last[0][1], fields)):
        redis.xadd(stream, fields)


def publish_pending(db: Session, redis, prefix: str, batch: int = 500) -> int:
    """Send unpublished rows in id order; returns how many. Commits after each batch."""
    lock = redis.lock(f"{prefix}:events:publisher", timeout=LOCK_TTL_MS / 1000,
                      blocking_timeout=0)
    if not lock.acquire(blocking=False):
        return 0  # another worker is publishing; order needs a single publisher
    try:
        rows = db.execute(select(OutboxEvent).where(OutboxEvent.published_at.is_(None))
                          .order_by(OutboxEvent.id).limit(batch)).scalars().all()
        for row in rows:
            _xadd(redis, stream_name(prefix), row)
            row.published_at = utcnow()
            db.commit()  # one row at a time: a crash re-sends at most one (deduplicated)
        return len(rows)
    finally:
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - lock expired; nothing to release
            log.info("publisher lock had expired")
