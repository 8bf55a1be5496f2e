"""Publish outbox rows to RabbitMQ (IDP_AMQP_URL): topic exchange `idp.events`, routing
key = event type, persistent messages, publisher confirms. A row is marked published
only after the broker confirmed it, so an outage delays events and never loses them;
`message_id` is the event id, the key for consumers to drop a repeat after a crash.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.events.envelope import build_envelope
from idp.models.base import utcnow
from idp.models.outbox import OutboxEvent

log = logging.getLogger(__name__)


class AmqpPublisher:
    """A lazily (re)opened confirming channel to the broker."""

    def __init__(self, url: str, exchange: str = "idp.events"):
        self.url, self.exchange = url, exchange
        self._connection = self._channel = None

    def _open(self):
        import pika

        params = pika.URLParameters(self.url)
        params.socket_timeout = params.blocked_connection_timeout = 5
        params.connection_attempts, params.stack_timeout = 1, 10
        self._connection = pika.BlockingConnection(params)
        channel = self._connection.channel()
        channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        channel.confirm_delivery()  # basic_publish now waits for the broker's ack
        self._channel = channel

    def connect(self) -> None:
        """Open the confirming channel unless it is open."""
        if self._channel is None or not self._channel.is_open:
            self.close()
            self._open()

    def publish(self, row: OutboxEvent) -> None:
        """Send one event and wait for the confirm; raises when it was not confirmed."""
        import pika

        try:
            self.connect()
            self._channel.basic_publish(
                self.exchange, row.name,
                json.dumps(build_envelope(row), separators=(",", ":")).encode(),
                pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                     message_id=str(row.event_id), type=row.name))
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        """Drop the connection (reopened by the next publish)."""
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - the connection is already broken
                log.debug("closing a broken AMQP connection")


def publish_pending_amqp(db: Session, publisher: AmqpPublisher, batch: int = 500) -> int:
    """Send unpublished rows in id order, each marked after its confirm; returns how many.

    Each row is claimed by a conditional UPDATE before it is sent, and that transaction
    commits only after the broker's confirm: another process publishing at the same time
    waits on the row (PostgreSQL) or the write lock (SQLite), then finds it published and
    skips it, so several workers without a Redis lock never send an event twice.
    """
    rows = db.execute(select(OutboxEvent.id).where(OutboxEvent.amqp_published_at.is_(None))
                      .order_by(OutboxEvent.id).limit(batch)).scalars().all()
    db.rollback()  # no snapshot held while connecting
    sent = 0
    for row_id in rows:
        publisher.connect()  # before the claim: an unreachable broker holds no lock
        claimed = db.execute(update(OutboxEvent).where(
            OutboxEvent.id == row_id, OutboxEvent.amqp_published_at.is_(None))
            .values(amqp_published_at=utcnow()).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            db.rollback()
            continue  # published by another worker meanwhile
        try:
            publisher.publish(db.get(OutboxEvent, row_id, populate_existing=True))
        except Exception:
            db.rollback()  # not confirmed: stays unpublished
            raise
        db.commit()  # a crash between confirm and commit re-sends one (same message_id)
        sent += 1
    return sent
