"""Restore a pg_dump while the event stream is kept: every new event reaches consumers once.

The restore rewinds the outbox id sequence, so new events reuse outbox ids whose stream
entries (`<id>-1`) already hold events published after the backup. Before event ids the
publisher took those entries for its own and marked the new rows published unsent.
"""

from __future__ import annotations

import subprocess

import pytest
import redis
import requests
from sqlalchemy import text

from tests.production.conftest import _prepare
from tests.production.pg_cluster import pg_cluster  # noqa: F401 - fixture
from tests.production.servers import run_cli, wait_for

pytestmark = pytest.mark.slow
PREFIX = "restored"


def _add_events(database_url: str, keys_dir: str, count: int, batch: str) -> None:
    """`count` tenant.updated events, each committed like a request would."""
    from idp import create_app
    from idp.audit import EventType, record
    from idp.extensions import db
    from idp.request_context import system_context
    from idp.tenancy.tenants import ensure_default_tenant

    app = create_app({"database_url": database_url, "keys_dir": keys_dir, "testing": True})
    with app.app_context():
        tenant = ensure_default_tenant(db.session)
        for n in range(count):
            record(db.session, system_context(), EventType.TENANT_UPDATED, tenant_id=tenant.id,
                   details={"count": n, "reason": batch})
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _publish(dep) -> subprocess.CompletedProcess:
    done = run_cli(dep.env, dep.workdir, "events", "publish", "--once")
    assert done.returncode == 0, done.stderr
    return done


def _stream(url: str) -> list[tuple[str, dict]]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return client.xrange(f"{PREFIX}:events")
    finally:
        client.close()


def _restore(pg_cluster, dump) -> None:  # noqa: F811
    """The documented restore: a fresh database from the dump; the stream is left alone."""
    pg_cluster.sql("DROP DATABASE idp WITH (FORCE)")
    pg_cluster.create_database("idp")
    done = subprocess.run(["pg_restore", "--no-owner", "-h", str(pg_cluster.root), "-p",
                           str(pg_cluster.port), "-U", "postgres", "-d", "idp", str(dump)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_restore_with_the_stream_kept_delivers_every_new_event_once(
        tmp_path, pg_cluster, redis_server, servers):  # noqa: F811
    url = pg_cluster.create_database("idp")
    dep = _prepare(tmp_path, url, IDP_REDIS_URL=redis_server.url, IDP_REDIS_PREFIX=PREFIX)
    keys = dep.env["IDP_KEYS_DIR"]
    _add_events(url, keys, 5, "before-backup")
    _publish(dep)
    dump = tmp_path / "idp.dump"
    assert run_cli(dep.env, tmp_path, "backup", "--output", str(dump)).returncode == 0
    _add_events(url, keys, 40, "after-backup")  # published, then lost with the database
    _publish(dep)
    consumer_position = _stream(redis_server.url)[-1][0]  # a consumer has read everything

    _restore(pg_cluster, dump)
    _add_events(url, keys, 40, "after-restore")
    # This time the provider's own background publisher sends them, as in production.
    engine = dep.engine()
    server = dep.server(workers=1).start()
    servers.append(server)
    wait_for(lambda: _unpublished(engine) == 0, 60, "the publisher to drain the outbox")
    metrics = requests.get(server.url + "/metrics", timeout=30).text
    server.stop()

    assert "idp_events_stream_id_conflicts_total 40.0" in metrics  # the alert fires
    assert sum("already holds another event (database restored?)" in line
               for line in server.log_lines()) == 40
    entries = _stream(redis_server.url)
    event_ids = [fields["event_id"] for _, fields in entries if "event_id" in fields]
    assert len(event_ids) == len(entries) == len(set(event_ids))  # none doubled
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT event_id, published_at FROM outbox_events "
                                 "ORDER BY id")).all()
    assert all(published_at is not None for _, published_at in rows)
    assert {str(event_id) for event_id, _ in rows} <= set(event_ids)
    # The consumer, resuming where it stopped, gets the 40 new events, once, in order.
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    [(_, new)] = client.xread({f"{PREFIX}:events": consumer_position})
    assert [f"{fields['event']}/{fields['data']}" for _, fields in new] == [
        f"tenant.updated/{row}" for row in _payloads(engine, "after-restore")]

    # A crash between XADD and the commit after the restore: re-sent, still not doubled.
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox_events SET published_at = NULL "
                          "WHERE id = (SELECT max(id) FROM outbox_events)"))
    _publish(dep)
    assert len(_stream(redis_server.url)) == len(entries)
    client.close()
    engine.dispose()


def _unpublished(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM outbox_events "
                                 "WHERE published_at IS NULL")).scalar_one()


def _payloads(engine, batch: str) -> list[str]:
    import json

    with engine.connect() as conn:
        payloads = conn.execute(text("SELECT payload FROM outbox_events ORDER BY id")).scalars()
        return [json.dumps(p) for p in payloads if p["data"].get("reason") == batch]
