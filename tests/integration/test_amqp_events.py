"""RabbitMQ publishing (issue 19) against the broker on 127.0.0.1:5672 (guest/guest; .ci/run
starts it): topic exchange, type as routing key, persistent, confirmed; an outage cut by a
loopback TCP proxy delays the event and never loses or doubles it. Each test declares its
own exchange and deletes it afterwards."""

from __future__ import annotations

import json
import secrets
import socket
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from idp.events.worker import EventsWorker
from idp.extensions import db
from idp.models.outbox import OutboxEvent
from tests.account_support import sign_in
from tests.factories import make_user
from tests.integration.tcp_proxy import TcpProxy

pika = pytest.importorskip("pika", reason="pika is not installed")
BROKER = ("127.0.0.1", 5672)


def _broker_up() -> bool:
    try:
        socket.create_connection(BROKER, timeout=2).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _broker_up(), reason="no RabbitMQ on 127.0.0.1:5672")


def amqp_url(port: int) -> str:
    return f"amqp://guest:guest@127.0.0.1:{port}/%2F"


@pytest.fixture
def exchange():
    name = f"idp.events.test.{secrets.token_hex(4)}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url(BROKER[1])))
    connection.channel().exchange_delete(name)
    connection.close()


@pytest.fixture
def proxy():
    with TcpProxy(BROKER) as running:
        yield running


@pytest.fixture
def config_overrides(config_overrides, exchange, proxy):
    # The provider reaches the broker through the proxy; the consumer connects directly.
    config_overrides.update(amqp_url=amqp_url(proxy.port), amqp_exchange=exchange)
    return config_overrides


class Consumer:
    """A pika consumer with its own exclusive queue bound to `binding`."""

    def __init__(self, exchange: str, binding: str):
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_url(BROKER[1])))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, exchange, routing_key=binding)

    def drain(self, wait: float = 2.0) -> list[tuple]:
        """Every message that arrives within `wait` seconds."""
        got, deadline = [], time.monotonic() + wait
        while time.monotonic() < deadline:
            method, props, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                self.connection.sleep(0.05)
                continue
            got.append((method.routing_key, props, json.loads(body)))
        return got

    def close(self) -> None:
        self.connection.close()


def worker(app) -> EventsWorker:
    with app.app_context():
        return EventsWorker(app.extensions["idp"], sessionmaker(bind=db.engine))


def unpublished(app) -> list[str]:
    with app.app_context():
        return db.session.execute(select(OutboxEvent.name).where(
            OutboxEvent.amqp_published_at.is_(None))).scalars().all()


def test_a_consumer_bound_to_auth_receives_the_login_event(app, client, exchange):
    consumer = Consumer(exchange, "auth.#")
    try:
        user_id = make_user(app)
        assert sign_in(client).status_code in (302, 303)
        assert worker(app).run_once() > 0
        got = consumer.drain()
    finally:
        consumer.close()
    assert [key for key, _, _ in got] == ["auth.login.success"]  # user.created is not auth.#
    _, props, envelope = got[0]
    assert props.delivery_mode == 2 and props.content_type == "application/json"
    assert props.message_id == envelope["id"] and envelope["type"] == "auth.login.success"
    assert envelope["subject"] == user_id and envelope["data"]["outcome"] == "success"
    assert unpublished(app) == []


def test_broker_outage_delays_the_event_and_never_loses_or_doubles_it(app, client, exchange,
                                                                      proxy):
    consumer = Consumer(exchange, "auth.#")
    try:
        make_user(app)
        events = worker(app)
        events.run_once()  # connected through the proxy, backlog sent
        proxy.cut()
        started = time.monotonic()
        assert sign_in(client).status_code in (302, 303)
        assert time.monotonic() - started < 2  # the request never waits for the broker
        events.run_once()
        assert "auth.login.success" in unpublished(app)  # not confirmed, so not marked
        assert consumer.drain(0.5) == []
        proxy.restore()
        events.run_once()
        got = consumer.drain()
    finally:
        consumer.close()
    assert [key for key, _, _ in got] == ["auth.login.success"]
    assert unpublished(app) == []


def test_example_consumer_keeps_a_profile_store(app, client, exchange, tmp_path):
    """examples/events_consumer.py, run as its README says: one profile per sign-up, its
    last login from auth.login.success, a redelivered event applied once."""
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    from tests.integration.test_registration_rules import GOOD, _register

    queue = f"profile-sync-{secrets.token_hex(4)}"
    consumer = Consumer(exchange, "user.registered")  # declares the exchange first
    consumer.channel.queue_declare(queue, durable=True)  # the consumer's queue exists
    for key in ("user.registered", "auth.login.success"):  # before the events happen
        consumer.channel.queue_bind(queue, exchange, routing_key=key)
    try:
        assert _register(client, "new@example.com", "newbie").status_code == 200
        assert sign_in(client, "newbie", GOOD).status_code in (302, 303)
        worker(app).run_once()
        [(_, _, registered)] = consumer.drain(1)
        # A redelivery (same id) must not count twice.
        consumer.channel.basic_publish(exchange, "user.registered", json.dumps(registered))
        script = Path(__file__).resolve().parents[2] / "examples" / "events_consumer.py"
        store = tmp_path / "profiles.db"
        env = {"AMQP_URL": amqp_url(BROKER[1]), "PROFILE_DB": str(store), "EXCHANGE": exchange,
               "QUEUE": queue, "IDLE_EXIT": "1", "PATH": "/usr/bin:/bin"}
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                              text=True, timeout=60)
    finally:
        consumer.channel.queue_delete(queue)
        consumer.close()
    assert done.returncode == 0, done.stderr
    rows = sqlite3.connect(store).execute(
        "SELECT user_id, registered_at IS NOT NULL, last_login_at IS NOT NULL, logins"
        " FROM profiles").fetchall()
    assert rows == [(registered["subject"], 1, 1, 1)]
    assert "already applied" in done.stdout


def test_two_workers_without_redis_publish_each_event_once(app, exchange):
    """Every gunicorn process runs a worker; without a Redis lock the row claims keep them
    from sending an event twice."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.integration.admin_support import make_person

    consumer = Consumer(exchange, "#")
    try:
        for n in range(8):
            make_person(app, f"person{n}")
        workers = [worker(app), worker(app)]
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda w: w.run_once(), workers))
        for w in workers:
            w.run_once()  # whatever a busy database made one of them skip
            w.amqp.close()
        got = consumer.drain(1.5)
    finally:
        consumer.close()
    ids = [envelope["id"] for _, _, envelope in got]
    with app.app_context():
        total = db.session.execute(select(OutboxEvent.event_id)).scalars().all()
    assert sorted(ids) == sorted(str(i) for i in total) and len(set(ids)) == len(ids)
