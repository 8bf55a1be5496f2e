"""The event outbox: domain events for other systems, written with the change itself."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, utcnow


class OutboxEvent(Base):
    """One event; the publisher sends unpublished rows in id order (at-least-once)."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_unpublished", "published_at", "id"),
                      Index("ix_outbox_events_amqp_unpublished", "amqp_published_at", "id"),
                      Index("ix_outbox_events_webhooks_unqueued", "webhooks_queued_at", "id"))

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    # The event's identity. `id` orders the outbox but comes from a sequence that a restore
    # rewinds, so after a restore a new row can carry the id of an event already published.
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    audit_event_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    # Identifiers and outcomes only, never personal data: a published stream cannot be erased.
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    published_at: Mapped[datetime | None]  # sent to the Redis stream
    # Each other channel keeps its own mark: RabbitMQ after the broker's confirm, webhooks
    # once the row's deliveries are queued (webhook_deliveries).
    amqp_published_at: Mapped[datetime | None]
    webhooks_queued_at: Mapped[datetime | None]
