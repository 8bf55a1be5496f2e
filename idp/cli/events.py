"""`idp events ...`: publish the outbox to the Redis stream (docs/events.md)."""

from __future__ import annotations

import click

from idp.cli.base import fail, main, with_app


@main.group()
def events():
    """Events for other systems."""


@events.command("publish")
@click.option("--once", is_flag=True, help="Publish what is pending, then exit.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls.")
@with_app
def events_publish(app, once, interval):
    """Send outbox events to the Redis stream IDP_REDIS_PREFIX:events (needs IDP_REDIS_URL)."""
    import redis as redis_lib

    from idp.events.publisher import publish_pending, run_forever, stream_name
    from idp.extensions import db as database

    config = app.extensions["idp"].config
    if not config.redis_url:
        fail("IDP_REDIS_URL is not set")
    client = redis_lib.Redis.from_url(config.redis_url, socket_timeout=5)
    if once:
        total = 0
        while sent := publish_pending(database.session, client, config.redis_prefix):
            total += sent
        click.echo(f"published {total} events to {stream_name(config.redis_prefix)}")
        return
    from sqlalchemy.orm import sessionmaker

    run_forever(sessionmaker(bind=database.engine), client, config.redis_prefix, interval)
