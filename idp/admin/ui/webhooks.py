"""Console pages for webhooks: subscriptions, the delivery log, redeliver, rotate, delete."""

from __future__ import annotations

from flask import request

from idp.admin.permissions import admin_context, require, resolve_caller
from idp.admin.ui import bp
from idp.admin.ui.common import done, page
from idp.errors import NotFound
from idp.events import webhook_delivery as deliveries
from idp.events import webhooks as service
from idp.extensions import db
from idp.http import services
from idp.models.base import utcnow
from idp.models.webhooks import WebhookDelivery
from idp.tenancy.tenants import query_tenant

PERMISSION = service.PERMISSION


def _load(webhook_id: str):
    return service.load_subscription(db.session, resolve_caller(check_csrf=False), webhook_id)


def _detail(sub, secret: str | None = None):
    log = [deliveries.describe_delivery(d) for d in deliveries.list_deliveries(db.session, sub)]
    return page("admin/webhook_detail.html", webhook=service.describe_subscription(sub),
                deliveries=log, secret=secret)


@bp.get("/webhooks")
@require(PERMISSION)
def webhooks():
    rows = service.list_subscriptions(db.session, resolve_caller(check_csrf=False))
    return page("admin/webhooks.html", webhooks=[service.describe_subscription(s) for s in rows])


@bp.post("/webhooks")
@require(PERMISSION)
def create_webhook_page():
    """Subscribe a URL in the admin's tenant; the secret is shown once, on the next page."""
    caller = resolve_caller()
    tenant_id = caller.tenant_id or query_tenant(db.session, None).id
    sub, secret = service.create_subscription(
        db.session, admin_context(), caller, services().keyring, services().outbound_policy,
        tenant_id=tenant_id, url=request.form.get("url", "").strip(),
        event_types=request.form.get("event_types", "").split())
    db.session.commit()
    return _detail(sub, secret)


@bp.get("/webhooks/<webhook_id>")
@require(PERMISSION)
def webhook_detail(webhook_id):
    return _detail(_load(webhook_id))


@bp.post("/webhooks/<webhook_id>/secret")
@require(PERMISSION)
def rotate_webhook_page(webhook_id):
    sub = _load(webhook_id)
    secret = service.rotate_secret(db.session, admin_context(), resolve_caller(),
                                   services().keyring, sub,
                                   request.form.get("overlap", 86400, type=int))
    db.session.commit()
    return _detail(sub, secret)


@bp.post("/webhooks/<webhook_id>/delete")
@require(PERMISSION)
def delete_webhook_page(webhook_id):
    service.delete_subscription(db.session, admin_context(), resolve_caller(), _load(webhook_id))
    db.session.commit()
    return done("The webhook was deleted.", "admin_ui.webhooks")


@bp.post("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
@require(PERMISSION)
def redeliver_page(webhook_id, delivery_id):
    sub = _load(webhook_id)
    delivery = db.session.get(WebhookDelivery, int(delivery_id)) \
        if delivery_id.isdigit() and len(delivery_id) < 19 else None
    if delivery is None or delivery.subscription_id != sub.id:
        raise NotFound("No such delivery.")
    deliveries.redeliver(db.session, delivery, utcnow())
    db.session.commit()
    return done("The event will be delivered again (same webhook-id).", "admin_ui.webhook_detail",
                webhook_id=webhook_id)
