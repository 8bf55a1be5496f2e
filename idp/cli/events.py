"""`idp events ...`: run the events worker (Redis stream, RabbitMQ, webhooks; docs/events.md)."""

from __future__ import annotations

import click

from idp.cli.base import main, with_app


@main.group()
def events():
    """Events for other systems."""


@events.command("publish")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls.")
@with_app
def events_publish(app, once, interval):
    """Send outbox events to the Redis stream (IDP_REDIS_URL), RabbitMQ (IDP_AMQP_URL) and
    webhook subscriptions."""
    from idp.events.worker import build_worker

    worker = build_worker(app)
    if once:
        total = 0
        while sent := worker.run_once():
            total += sent
        click.echo(f"published {total} events")
        return
    worker.run_forever(interval)
