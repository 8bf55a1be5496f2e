"""Against a real `idp serve`: the events worker runs beside the server, so a sign-in
answers at once while a slow webhook receiver and RabbitMQ get the event moments later."""

from __future__ import annotations

import secrets
import socket
import time

import pytest
from standardwebhooks import Webhook

from tests.integration.test_account_live import attempt
from tests.integration.webhook_receiver import Receiver
from tests.live_server import LiveIdp

pytestmark = pytest.mark.slow
PASSWORD = "Live-Server-Pass-7!"


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
        return True
    except OSError:
        return False


def test_serve_delivers_webhooks_and_amqp_without_blocking_the_sign_in(tmp_path):
    amqp = _broker_up()
    pika = pytest.importorskip("pika") if amqp else None
    exchange = f"idp.events.live.{secrets.token_hex(4)}"
    env = {"IDP_OUTBOUND_ALLOW": "127.0.0.1"}
    if amqp:
        env.update(IDP_AMQP_URL="amqp://guest:guest@127.0.0.1:5672/%2F",
                   IDP_AMQP_EXCHANGE=exchange)
    idp = LiveIdp(tmp_path, **env)
    with Receiver() as receiver:
        receiver.delay = 3.0
        idp.cli("db", "upgrade")
        idp.cli("users", "create", "--email", "lena@example.com", "--username", "lena",
                "--password-stdin", stdin=PASSWORD + "\n")
        sub = idp.cli_json("webhooks", "create", "--url", receiver.url("/live"), "--event",
                           "auth.login.*")
        consumer = _consumer(pika, exchange) if amqp else None
        idp.start()
        try:
            started = time.monotonic()
            assert attempt(idp.url, PASSWORD) in (302, 303)
            assert time.monotonic() - started < 2.5  # the 3 s receiver is not waited for
            deadline = time.monotonic() + 20
            while not receiver.at("/live") and time.monotonic() < deadline:
                time.sleep(0.2)
            messages = _drain(consumer, deadline) if consumer else None
        finally:
            idp.stop()
            if consumer:
                consumer[0].channel().exchange_delete(exchange)
                consumer[0].close()
    calls = receiver.at("/live")  # a 3 s answer times out, so attempts may repeat
    assert len({c["headers"]["webhook-id"] for c in calls}) == 1
    event = Webhook(sub["secret"]).verify(calls[0]["body"], calls[0]["headers"])
    assert event["type"] == "auth.login.success"
    if amqp:
        assert [(key, body_id) for key, body_id in messages] == [("auth.login.success",
                                                                  event["id"])]


def _consumer(pika, exchange):
    connection = pika.BlockingConnection(pika.URLParameters(
        "amqp://guest:guest@127.0.0.1:5672/%2F"))
    channel = connection.channel()
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, routing_key="auth.#")
    return connection, channel, queue


def _drain(consumer, deadline) -> list:
    import json

    connection, channel, queue = consumer
    got = []
    while time.monotonic() < deadline:
        method, _props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            if got:
                connection.sleep(1)  # a little longer: a second copy would show here
                if channel.basic_get(queue, auto_ack=True)[0] is None:
                    break
                got.append(("duplicate", None))
                break
            connection.sleep(0.1)
            continue
        got.append((method.routing_key, json.loads(body)["id"]))
    return got
