"""`idp webhooks create|list|delete|test|rotate-secret|enable` (SPEC "Events for other systems")."""

from __future__ import annotations

import json

import click

from idp.cli.base import fail, main, with_app
from idp.rbac.authorization import Caller
from idp.request_context import system_context


@main.group()
def webhooks():
    """Webhook subscriptions (Standard Webhooks deliveries of events)."""


@webhooks.command("create")
@click.option("--url", required=True, help="https URL (http only on loopback).")
@click.option("--event", "event_types", multiple=True,
              help="Event type or wildcard (user.*); repeat; default every event.")
@click.option("--tenant")
@click.option("--json", "as_json", is_flag=True)
@with_app
def webhooks_create(app, url, event_types, tenant, as_json):
    """Subscribe a URL to a tenant's events; the signing secret is printed once."""
    from idp.events.webhooks import create_subscription
    from idp.extensions import db as database
    from idp.tenancy.tenants import query_tenant

    svc = app.extensions["idp"]
    tenant_row = query_tenant(database.session, tenant)
    sub, secret = create_subscription(database.session, system_context(), Caller.operator(),
                                      svc.keyring, svc.outbound_policy, tenant_id=tenant_row.id,
                                      url=url, event_types=list(event_types))
    database.session.commit()
    if as_json:
        click.echo(json.dumps({"id": str(sub.id), "secret": secret}))
    else:
        click.echo(f"id: {sub.id}\nsecret: {secret}  (shown only now)")


@webhooks.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_app
def webhooks_list(app, as_json):
    """Every subscription with its state."""
    from idp.events.webhooks import describe_subscription, list_subscriptions
    from idp.extensions import db as database

    rows = [describe_subscription(s) for s in list_subscriptions(database.session,
                                                                Caller.operator())]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        state = "enabled" if row["enabled"] else f"disabled ({row['disabled_reason']})"
        click.echo(f"{row['id']}  {row['url']}  {','.join(row['event_types'])}  {state}")


@webhooks.command("delete")
@click.argument("webhook_id")
@with_app
def webhooks_delete(app, webhook_id):
    """Remove a subscription and its delivery log."""
    from idp.events.webhooks import delete_subscription, load_subscription
    from idp.extensions import db as database

    caller = Caller.operator()
    sub = load_subscription(database.session, caller, webhook_id)
    delete_subscription(database.session, system_context(), caller, sub)
    database.session.commit()
    click.echo(f"deleted {webhook_id}")


@webhooks.command("enable")
@click.argument("webhook_id")
@with_app
def webhooks_enable(app, webhook_id):
    """Turn a subscription disabled after a day of failures back on."""
    from idp.events.webhooks import enable_subscription, load_subscription
    from idp.extensions import db as database

    caller = Caller.operator()
    sub = load_subscription(database.session, caller, webhook_id)
    enable_subscription(database.session, system_context(), caller, sub)
    database.session.commit()
    click.echo(f"enabled {webhook_id}")


@webhooks.command("test")
@click.argument("webhook_id")
@click.option("--json", "as_json", is_flag=True)
@with_app
def webhooks_test(app, webhook_id, as_json):
    """Post a signed `webhook.test` event now and report the answer."""
    from idp.events.webhook_delivery import describe_delivery, send_test
    from idp.events.webhooks import load_subscription
    from idp.extensions import db as database

    svc = app.extensions["idp"]
    ctx = system_context()
    sub = load_subscription(database.session, Caller.operator(), webhook_id)
    delivery = send_test(database.session, svc.keyring, svc.outbound_policy, sub, ctx.now)
    database.session.commit()
    out = describe_delivery(delivery)
    if as_json:
        click.echo(json.dumps(out))
    if out["status"] != "delivered":
        fail(f"test delivery failed: {out['last_error']}")
    if not as_json:
        click.echo(f"delivered: HTTP {out['last_status']} in {out['latency_ms']} ms")


@webhooks.command("rotate-secret")
@click.argument("webhook_id")
@click.option("--overlap", default=86400, show_default=True, type=int,
              help="Seconds the previous secret also signs.")
@click.option("--json", "as_json", is_flag=True)
@with_app
def webhooks_rotate(app, webhook_id, overlap, as_json):
    """A new signing secret (printed once); the old one keeps signing for --overlap."""
    from idp.events.webhooks import load_subscription, rotate_secret
    from idp.extensions import db as database

    caller = Caller.operator()
    sub = load_subscription(database.session, caller, webhook_id)
    secret = rotate_secret(database.session, system_context(), caller,
                           app.extensions["idp"].keyring, sub, overlap)
    database.session.commit()
    out = {"id": str(sub.id), "secret": secret, "previous_valid_for": overlap}
    click.echo(json.dumps(out) if as_json else f"secret: {secret}  (shown only now)")
