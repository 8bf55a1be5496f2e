"""Example consumer of idp events over RabbitMQ (docs/events.md, "Consumers").

Keeps a downstream profile store (SQLite) up to date: `user.registered` creates a
profile, `auth.login.success` sets its last login. Idempotent (each event id is applied
once, so a redelivery changes nothing) and acknowledged only after its change is
committed, so a crash never loses an event.

    AMQP_URL=amqp://guest:guest@localhost:5672/%2F PROFILE_DB=profiles.db \\
        python examples/events_consumer.py

Environment: AMQP_URL, PROFILE_DB (default profiles.db), EXCHANGE (default idp.events),
QUEUE (default profile-sync), IDLE_EXIT (seconds without messages before exiting; default
unset: run forever). Needs only `pika`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pika

BINDINGS = ("user.registered", "auth.login.success")


def open_store(path: str) -> sqlite3.Connection:
    """The downstream store: profiles, and the ids of events already applied."""
    store = sqlite3.connect(path)
    store.executescript("""
        CREATE TABLE IF NOT EXISTS profiles (user_id TEXT PRIMARY KEY, tenant TEXT,
            registered_at TEXT, last_login_at TEXT, logins INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS applied_events (event_id TEXT PRIMARY KEY);
    """)
    return store


def apply(store: sqlite3.Connection, event: dict) -> bool:
    """Apply one envelope in one transaction; False when it was applied before."""
    with store:
        try:
            store.execute("INSERT INTO applied_events VALUES (?)", (event["id"],))
        except sqlite3.IntegrityError:
            return False  # a redelivery: already applied
        user, at = event["subject"], event["occurred_at"]
        if event["type"] == "user.registered":
            store.execute("INSERT INTO profiles (user_id, tenant, registered_at) VALUES (?, ?, ?)"
                          " ON CONFLICT (user_id) DO UPDATE SET registered_at = excluded.registered_at",
                          (user, event["tenant"], at))
        elif event["type"] == "auth.login.success":
            store.execute("INSERT INTO profiles (user_id, tenant, last_login_at, logins)"
                          " VALUES (?, ?, ?, 1) ON CONFLICT (user_id) DO UPDATE SET"
                          " last_login_at = MAX(COALESCE(last_login_at, ''), excluded.last_login_at),"
                          " logins = logins + 1", (user, event["tenant"], at))
    return True


def main() -> None:
    store = open_store(os.environ.get("PROFILE_DB", "profiles.db"))
    connection = pika.BlockingConnection(pika.URLParameters(
        os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/%2F")))
    channel = connection.channel()
    exchange = os.environ.get("EXCHANGE", "idp.events")
    queue = os.environ.get("QUEUE", "profile-sync")
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    channel.queue_declare(queue, durable=True)  # survives consumer and broker restarts
    for key in BINDINGS:
        channel.queue_bind(queue, exchange, routing_key=key)
    channel.basic_qos(prefetch_count=10)
    idle_exit = float(os.environ["IDLE_EXIT"]) if os.environ.get("IDLE_EXIT") else None
    last = time.monotonic()
    for method, _props, body in channel.consume(queue, inactivity_timeout=1):
        if method is None:
            if idle_exit is not None and time.monotonic() - last > idle_exit:
                break
            continue
        last = time.monotonic()
        event = json.loads(body)
        applied = apply(store, event)
        print(f"{event['type']} {event['id']} {'applied' if applied else 'already applied'}",
              flush=True)
        channel.basic_ack(method.delivery_tag)  # after the commit: never lost
    channel.cancel()
    connection.close()


if __name__ == "__main__":
    main()
