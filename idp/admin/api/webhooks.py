"""/api/v1/webhooks: subscriptions of the caller's tenant, their delivery log, redeliver."""

from __future__ import annotations

from flask import request

from idp.admin.api import body, bp
from idp.admin.api.paging import BadRequest, no_content, page
from idp.admin.permissions import admin_context, require, resolve_caller
from idp.errors import NotFound
from idp.events import webhook_delivery as delivery_service
from idp.events import webhooks as service
from idp.extensions import db
from idp.http import services
from idp.models.base import utcnow
from idp.models.webhooks import WebhookDelivery
from idp.tenancy.tenants import query_tenant

PERMISSION = service.PERMISSION


def _subscription(webhook_id: str):
    return service.load_subscription(db.session, resolve_caller(), webhook_id)


@bp.get("/webhooks")
@require(PERMISSION)
def list_webhooks():
    rows = service.list_subscriptions(db.session, resolve_caller())
    return page([service.describe_subscription(s) for s in rows], None)


@bp.post("/webhooks")
@require(PERMISSION)
def create_webhook():
    data, caller = body(), resolve_caller()
    tenant_id = caller.tenant_id
    if data.get("tenant") is not None or tenant_id is None:
        if not isinstance(data.get("tenant"), str | None):
            raise BadRequest("tenant must be a tenant id or slug.")
        tenant_id = query_tenant(db.session, data.get("tenant")).id
    sub, secret = service.create_subscription(
        db.session, admin_context(), caller, services().keyring, services().outbound_policy,
        tenant_id=tenant_id, url=data.get("url"), event_types=data.get("event_types"))
    db.session.commit()
    return {**service.describe_subscription(sub), "secret": secret}, 201


@bp.get("/webhooks/<webhook_id>")
@require(PERMISSION)
def get_webhook(webhook_id):
    return service.describe_subscription(_subscription(webhook_id))


@bp.delete("/webhooks/<webhook_id>")
@require(PERMISSION)
def delete_webhook(webhook_id):
    service.delete_subscription(db.session, admin_context(), resolve_caller(),
                                _subscription(webhook_id))
    db.session.commit()
    return no_content()


@bp.post("/webhooks/<webhook_id>/secret")
@require(PERMISSION)
def rotate_webhook_secret(webhook_id):
    sub = _subscription(webhook_id)
    data = body() if request.get_data(cache=True) else {}
    secret = service.rotate_secret(db.session, admin_context(), resolve_caller(),
                                   services().keyring, sub, data.get("overlap", 86400))
    db.session.commit()
    return {"id": str(sub.id), "secret": secret}


@bp.post("/webhooks/<webhook_id>/enable")
@require(PERMISSION)
def enable_webhook(webhook_id):
    sub = _subscription(webhook_id)
    service.enable_subscription(db.session, admin_context(), resolve_caller(), sub)
    db.session.commit()
    return service.describe_subscription(sub)


@bp.post("/webhooks/<webhook_id>/test")
@require(PERMISSION)
def test_webhook(webhook_id):
    sub = _subscription(webhook_id)
    delivery = delivery_service.send_test(db.session, services().keyring,
                                          services().outbound_policy, sub, utcnow())
    db.session.commit()
    return delivery_service.describe_delivery(delivery)


@bp.get("/webhooks/<webhook_id>/deliveries")
@require(PERMISSION)
def list_webhook_deliveries(webhook_id):
    rows = delivery_service.list_deliveries(db.session, _subscription(webhook_id))
    return page([delivery_service.describe_delivery(d) for d in rows], None)


@bp.post("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
@require(PERMISSION)
def redeliver_webhook(webhook_id, delivery_id):
    sub = _subscription(webhook_id)
    delivery = db.session.get(WebhookDelivery, int(delivery_id)) if delivery_id.isdigit() \
        and len(delivery_id) < 19 else None
    if delivery is None or delivery.subscription_id != sub.id:
        raise NotFound("No such delivery.")
    delivery_service.redeliver(db.session, delivery, utcnow())
    db.session.commit()
    return delivery_service.describe_delivery(delivery), 202
