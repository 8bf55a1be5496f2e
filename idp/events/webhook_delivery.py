"""Webhook delivery from the outbox: queue one delivery per matching subscription, then
post it per Standard Webhooks (https://www.standardwebhooks.com), retrying with backoff.

Runs in the events worker, never in a request. Every step claims its row with a
conditional UPDATE, so several workers (gunicorn processes) never send one attempt twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.events.envelope import SCHEMA, TEST_EVENT, build_envelope, type_matches
from idp.events.webhooks import signing_secrets
from idp.keyring import Keyring
from idp.models.accounts import User
from idp.models.outbox import OutboxEvent
from idp.models.webhooks import WebhookDelivery, WebhookSubscription
from idp.outbound import OutboundPolicy, OutboundRefused, send
from idp.request_context import system_context

log = logging.getLogger(__name__)
# Seconds before retry n (then the last one again), each plus up to 25 % jitter.
RETRY_DELAYS = (2, 10, 60, 300, 1800, 7200, 14400)
GIVE_UP_AFTER = timedelta(hours=24)  # then the delivery is dead-lettered
DISABLE_AFTER = timedelta(hours=24)  # a subscription failing this long is disabled
LEASE = timedelta(seconds=30)  # a claimed attempt is retried after this if its worker died


def queue_pending(db: Session, now: datetime, batch: int = 200) -> int:
    """Turn unqueued outbox rows into deliveries for the matching subscriptions of their
    tenant; returns how many rows were handled. Commits."""
    subs = db.execute(select(WebhookSubscription).where(
        WebhookSubscription.enabled.is_(True))).scalars().all()
    if not subs:
        return 0  # no writes at all: rows from before any subscription are skipped below
    unqueued = select(OutboxEvent).where(OutboxEvent.webhooks_queued_at.is_(None)) \
        .order_by(OutboxEvent.id).limit(batch)
    rows = db.execute(unqueued).scalars().all()
    oldest = min(sub.created_at for sub in subs)
    if rows and rows[0].at < oldest:
        _skip_older_rows(db, oldest, now)
        rows = db.execute(unqueued).scalars().all()
    if not rows:
        db.commit()
        return 0
    for row in rows:
        claimed = db.execute(update(OutboxEvent).where(
            OutboxEvent.id == row.id, OutboxEvent.webhooks_queued_at.is_(None))
            .values(webhooks_queued_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue  # another worker queued it
        for sub in subs:
            if _wants(sub, row):
                db.add(WebhookDelivery(subscription_id=sub.id, event_id=row.event_id,
                                       event_type=row.name, payload=build_envelope(row),
                                       next_attempt_at=now, created_at=now))
    db.commit()
    return len(rows)


def _skip_older_rows(db: Session, oldest: datetime, now: datetime) -> None:
    # Events from before every subscription go to none: mark them in one statement.
    db.execute(update(OutboxEvent).where(OutboxEvent.webhooks_queued_at.is_(None),
                                         OutboxEvent.at < oldest)
               .values(webhooks_queued_at=now).execution_options(synchronize_session=False))


def _wants(sub: WebhookSubscription, row: OutboxEvent) -> bool:
    # Tenant isolation: an event reaches only its own tenant's subscriptions, and only
    # those that existed when it happened (a new subscription gets no history).
    return (sub.tenant_id == row.tenant_id and row.at >= sub.created_at
            and type_matches(sub.event_types, row.name))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` over `id.timestamp.body` (Standard Webhooks, Signature)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def post_event(url: str, policy: OutboundPolicy, secrets_: list[str], msg_id: str,
               envelope: dict) -> tuple[int | None, int, str | None]:
    """One signed POST under the outbound guard: (status or None, latency ms, error)."""
    body = json.dumps(envelope, separators=(",", ":")).encode()
    stamp = int(time.time())  # the real time, which receivers compare with theirs
    headers = {"Content-Type": "application/json", "webhook-id": msg_id,
               "webhook-timestamp": str(stamp),
               "webhook-signature": " ".join(sign(s, msg_id, stamp, body) for s in secrets_)}
    started = time.monotonic()
    try:
        response = send(url, policy, method="POST", body=body, headers=headers)
    except OutboundRefused as exc:
        log.warning("webhook delivery to %s failed: %s", url, exc.reason)
        return None, int((time.monotonic() - started) * 1000), exc.reason[:200]
    return response.status, int((time.monotonic() - started) * 1000), None


def _claim(db: Session, delivery: WebhookDelivery, now: datetime) -> bool:
    claimed = db.execute(update(WebhookDelivery).where(
        WebhookDelivery.id == delivery.id, WebhookDelivery.status == "pending",
        WebhookDelivery.attempts == delivery.attempts)
        .values(attempts=delivery.attempts + 1, next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False))
    db.commit()
    return claimed.rowcount == 1


def deliver_due(db: Session, keyring: Keyring, policy: OutboundPolicy, now: datetime,
                mailer=None, batch: int = 20) -> int:
    """Attempt the deliveries that are due; returns how many were attempted. Commits."""
    due = db.execute(select(WebhookDelivery.id).join(WebhookSubscription).where(
        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
        WebhookSubscription.enabled.is_(True))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(batch)).scalars().all()
    done = 0
    for delivery_id in due:
        delivery = db.get(WebhookDelivery, delivery_id, populate_existing=True)
        if delivery is None or delivery.status != "pending" or not _claim(db, delivery, now):
            continue
        delivery = db.get(WebhookDelivery, delivery_id, populate_existing=True)
        sub = db.get(WebhookSubscription, delivery.subscription_id)
        status, latency, error = post_event(sub.url, policy, signing_secrets(keyring, sub, now),
                                            str(delivery.event_id), delivery.payload)
        _record_attempt(db, delivery, sub, now, status, latency, error, mailer)
        db.commit()
        done += 1
    return done


def _record_attempt(db: Session, delivery: WebhookDelivery, sub: WebhookSubscription,
                    now: datetime, status, latency: int, error, mailer) -> None:
    delivery.last_attempt_at, delivery.last_status = now, status
    delivery.last_latency_ms, delivery.last_error = latency, error
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.next_attempt_at = "delivered", None
        sub.failing_since = None
        return
    delivery.last_error = error or f"HTTP {status}"
    delay = RETRY_DELAYS[min(delivery.attempts, len(RETRY_DELAYS)) - 1]
    retry_at = now + timedelta(seconds=delay * (1 + random.uniform(0, 0.25)))
    if retry_at - delivery.created_at > GIVE_UP_AFTER:
        delivery.status, delivery.next_attempt_at = "dead", None
    else:
        delivery.next_attempt_at = retry_at
    sub.failing_since = sub.failing_since or now
    if now - sub.failing_since >= DISABLE_AFTER:
        _disable(db, sub, now, mailer)


def _disable(db: Session, sub: WebhookSubscription, now: datetime, mailer) -> None:
    """Stop a subscription that failed for a day; its owner is told by mail."""
    sub.enabled, sub.disabled_reason = False, "failing for 24 hours"
    ctx = system_context()
    record(db, ctx, EventType.WEBHOOK_DISABLED, tenant_id=sub.tenant_id,
           details={"reason": sub.disabled_reason})
    owner = _owner_email(db, sub)
    if mailer is not None and owner:
        mailer.send(owner, "Webhook disabled",
                    f"The webhook {sub.id} to {sub.url} failed for 24 hours and was disabled.\n"
                    "Fix the receiver, then create the subscription again.")


def _owner_email(db: Session, sub: WebhookSubscription) -> str | None:


    try:
        user = db.get(User, uuid.UUID(sub.created_by or ""))
    except ValueError:
        return None
    return user.email if user is not None else None


def redeliver(db: Session, delivery: WebhookDelivery, now: datetime) -> None:
    """Queue a delivery again (dead or delivered): same webhook-id, due now."""
    delivery.status, delivery.next_attempt_at = "pending", now
    delivery.created_at = now  # a fresh 24-hour retry window
    db.flush()


def send_test(db: Session, keyring: Keyring, policy: OutboundPolicy, sub: WebhookSubscription,
              now: datetime) -> WebhookDelivery:
    """Post a `webhook.test` event now (an operator's explicit check); logged like others."""


    event_id = uuid.uuid4()
    envelope = {"id": str(event_id), "type": TEST_EVENT,
                "occurred_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "tenant": str(sub.tenant_id), "actor": None, "subject": None, "data": {},
                "schema": SCHEMA}
    delivery = WebhookDelivery(subscription_id=sub.id, event_id=event_id, event_type=TEST_EVENT,
                               payload=envelope, attempts=1, created_at=now)
    db.add(delivery)
    status, latency, error = post_event(sub.url, policy, signing_secrets(keyring, sub, now),
                                        str(event_id), envelope)
    delivery.last_attempt_at, delivery.last_status = now, status
    delivery.last_latency_ms, delivery.last_error = latency, error or (
        None if status and 200 <= status < 300 else f"HTTP {status}")
    # A test is not retried: its outcome is reported to whoever asked.
    delivery.status = "delivered" if status and 200 <= status < 300 else "dead"
    delivery.next_attempt_at = None
    db.flush()
    return delivery


def describe_delivery(delivery: WebhookDelivery) -> dict:
    """A delivery log entry (status, attempts, latency)."""
    def iso(value):
        return value.isoformat() if value else None

    return {"id": delivery.id, "event_id": str(delivery.event_id), "type": delivery.event_type,
            "status": delivery.status, "attempts": delivery.attempts,
            "last_status": delivery.last_status, "latency_ms": delivery.last_latency_ms,
            "last_error": delivery.last_error, "created_at": iso(delivery.created_at),
            "last_attempt_at": iso(delivery.last_attempt_at),
            "next_attempt_at": iso(delivery.next_attempt_at)}


def list_deliveries(db: Session, sub: WebhookSubscription, limit: int = 100) -> list:
    """The newest deliveries of a subscription."""
    return list(db.execute(select(WebhookDelivery).where(
        WebhookDelivery.subscription_id == sub.id)
        .order_by(WebhookDelivery.id.desc()).limit(limit)).scalars())
