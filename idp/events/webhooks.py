"""Webhook subscriptions per tenant: create, list, delete, rotate the secret (issue 19).

The secret is a Standard Webhooks secret (`whsec_` + base64), shown once, stored
encrypted (signing needs it); after a rotation the old one keeps signing for an overlap.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.audit.events import Outcome
from idp.errors import NotFound, ValidationFailed
from idp.events.envelope import TEST_EVENT
from idp.events.outbox import event_name
from idp.keyring import Keyring
from idp.models.webhooks import WebhookSubscription
from idp.outbound import OutboundPolicy, OutboundRefused, check_registered_url
from idp.rbac.authorization import Caller
from idp.request_context import RequestContext

MAX_OVERLAP = 7 * 86400
# Webhooks carry the tenant's events to its integrations: the same right as its clients.
PERMISSION = "clients:write"
_PATTERN = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")


def published_types() -> frozenset[str]:
    """Every name an event can be published under (EventType, with outcome variants)."""
    names = {event_name(t.value, o.value) for t in EventType for o in Outcome}
    return frozenset(names | {TEST_EVENT})


def check_event_types(patterns) -> list[str]:
    """Exact published names or wildcards ("*", "user.*"); none given means every event."""
    if patterns is None or patterns == []:
        return ["*"]
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ValidationFailed("event_types must be a list of event types.", field="event_types")
    known = published_types()
    for pattern in patterns:
        if not _PATTERN.match(pattern) or ("*" not in pattern and pattern not in known):
            raise ValidationFailed(f"Unknown event type {pattern!r}.", field="event_types")
    return list(dict.fromkeys(patterns))


def check_url(url, policy: OutboundPolicy) -> str:
    """https, or http to a loopback address; the target must pass IDP_OUTBOUND_ALLOW."""
    if not isinstance(url, str) or len(url) > 2048:
        raise ValidationFailed("url must be an https URL.", field="url")
    parts = urlsplit(url)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        raise ValidationFailed("url must use https (http only on loopback).", field="url")
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.fragment:
        raise ValidationFailed("url must be an https URL without fragment.", field="url")
    try:
        check_registered_url(url, policy)
    except OutboundRefused as exc:
        raise ValidationFailed(f"url: {exc}", field="url") from None
    return url


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _seal(keyring: Keyring, sub_id: uuid.UUID, secret: str) -> bytes:
    return keyring.encrypt(secret.encode(), f"webhook:{sub_id}")


def signing_secrets(keyring: Keyring, sub: WebhookSubscription, now: datetime) -> list[str]:
    """The current secret, plus the previous one while its overlap lasts."""
    found = [keyring.decrypt(sub.secret, f"webhook:{sub.id}").decode()]
    if sub.previous_secret and sub.previous_secret_until and sub.previous_secret_until > now:
        found.append(keyring.decrypt(sub.previous_secret, f"webhook:{sub.id}").decode())
    return found


def create_subscription(db: Session, ctx: RequestContext, caller: Caller, keyring: Keyring,
                        policy: OutboundPolicy, *, tenant_id: uuid.UUID, url,
                        event_types=None) -> tuple[WebhookSubscription, str]:
    """A new subscription in `tenant_id` (the caller's, unless superadmin); secret once."""
    if not caller.sees_tenant(tenant_id):
        raise NotFound("No such tenant.")
    sub = WebhookSubscription(id=uuid.uuid4(), tenant_id=tenant_id, url=check_url(url, policy),
                              event_types=check_event_types(event_types),
                              created_by=caller.actor_id, created_at=ctx.now)
    secret = new_secret()
    sub.secret = _seal(keyring, sub.id, secret)
    db.add(sub)
    db.flush()
    record(db, ctx, EventType.WEBHOOK_CREATED, tenant_id=tenant_id, actor_id=caller.actor_id,
           details={"fields": sub.event_types})
    return sub, secret


def list_subscriptions(db: Session, caller: Caller) -> list[WebhookSubscription]:
    """The subscriptions the caller's tenant scope holds, oldest first."""
    stmt = caller.scoped(select(WebhookSubscription), WebhookSubscription.tenant_id)
    return list(db.execute(stmt.order_by(WebhookSubscription.created_at)).scalars())


def load_subscription(db: Session, caller: Caller, sub_id) -> WebhookSubscription:
    """One subscription in the caller's scope; another tenant's does not exist (404)."""
    try:
        sub = db.get(WebhookSubscription, uuid.UUID(str(sub_id)))
    except ValueError:
        sub = None
    if sub is None or not caller.sees_tenant(sub.tenant_id):
        raise NotFound("No such webhook.")
    return sub


def delete_subscription(db: Session, ctx: RequestContext, caller: Caller,
                        sub: WebhookSubscription) -> None:
    """Remove a subscription and its delivery log."""
    record(db, ctx, EventType.WEBHOOK_DELETED, tenant_id=sub.tenant_id, actor_id=caller.actor_id)
    db.delete(sub)
    db.flush()


def rotate_secret(db: Session, ctx: RequestContext, caller: Caller, keyring: Keyring,
                  sub: WebhookSubscription, overlap: int = 86400) -> str:
    """A new secret; the old one also signs for `overlap` seconds (receivers switch over)."""
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap <= MAX_OVERLAP:
        raise ValidationFailed("overlap must be seconds between 0 and 7 days.", field="overlap")
    secret = new_secret()
    sub.previous_secret, sub.previous_secret_until = sub.secret, ctx.now + timedelta(seconds=overlap)
    sub.secret = _seal(keyring, sub.id, secret)
    db.flush()
    record(db, ctx, EventType.WEBHOOK_SECRET_ROTATED, tenant_id=sub.tenant_id,
           actor_id=caller.actor_id, details={"grace_seconds": overlap})
    return secret


def enable_subscription(db: Session, ctx: RequestContext, caller: Caller,
                        sub: WebhookSubscription) -> None:
    """Turn a disabled subscription back on (after its receiver was fixed)."""
    if sub.enabled:
        return
    sub.enabled, sub.failing_since, sub.disabled_reason = True, None, None
    db.flush()
    record(db, ctx, EventType.WEBHOOK_ENABLED, tenant_id=sub.tenant_id, actor_id=caller.actor_id)


def describe_subscription(sub: WebhookSubscription) -> dict:
    """The JSON form (never the secret)."""
    return {"id": str(sub.id), "tenant": str(sub.tenant_id), "url": sub.url,
            "event_types": sub.event_types, "enabled": sub.enabled,
            "created_at": sub.created_at.isoformat(), "created_by": sub.created_by,
            "failing_since": sub.failing_since.isoformat() if sub.failing_since else None,
            "disabled_reason": sub.disabled_reason}
