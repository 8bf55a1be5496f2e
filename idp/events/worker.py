"""The events worker: every channel the outbox feeds, polled outside any request.

Channels: the Redis stream (IDP_REDIS_URL), RabbitMQ (IDP_AMQP_URL) and webhooks (always;
nothing to do without subscriptions). Each keeps its own mark on the outbox row, so one
channel's outage delays only that channel.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import datetime

import redis as redis_lib
from sqlalchemy.orm import sessionmaker

from idp.events.amqp import AmqpPublisher, publish_pending_amqp
from idp.events.publisher import publish_pending
from idp.events.webhook_delivery import deliver_due, queue_pending
from idp.extensions import db
from idp.models.base import utcnow

log = logging.getLogger(__name__)


class EventsWorker:
    """One pass over every channel with `run_once`; `run_forever` until stopped."""

    def __init__(self, services, session_factory, redis=None):
        self.services, self.session_factory, self.redis = services, session_factory, redis
        config = services.config
        self.amqp = AmqpPublisher(config.amqp_url, config.amqp_exchange) if config.amqp_url \
            else None

    def run_once(self, now: datetime | None = None) -> int:
        """Work done in one pass (rows or attempts); channel failures are logged."""
        now = now or utcnow()
        done = 0
        for name, step in (("redis", self._redis), ("amqp", self._amqp),
                           ("webhooks", self._webhooks)):
            try:
                with self.session_factory() as db:
                    done += step(db, now)
            except Exception:  # noqa: BLE001 - one channel's outage must not stop the others
                log.exception("events channel %s failed; retrying", name)
        return done

    def _redis(self, db, now) -> int:
        if self.redis is None:
            return 0
        return publish_pending(db, self.redis, self.services.config.redis_prefix)

    def _amqp(self, db, now) -> int:
        if self.amqp is None:
            return 0
        with self._single_publisher("amqp") as elected:
            return publish_pending_amqp(db, self.amqp) if elected else 0

    def _webhooks(self, db, now) -> int:
        svc = self.services
        queued = queue_pending(db, now)
        return queued + deliver_due(db, svc.keyring, svc.outbound_policy, now, svc.mailer)

    @contextmanager
    def _single_publisher(self, channel: str):
        # With Redis one process publishes at a time (in order); without it each process
        # publishes and row claims keep them from sending an event twice.
        if self.redis is None:
            yield True
            return
        lock = self.redis.lock(f"{self.services.config.redis_prefix}:events:{channel}",
                               timeout=30, blocking_timeout=0)
        elected = lock.acquire(blocking=False)
        try:
            yield elected
        finally:
            if elected:
                try:
                    lock.release()
                except Exception:  # noqa: BLE001 - expired; nothing to release
                    log.info("%s publisher lock had expired", channel)

    def run_forever(self, interval: float = 1.0, stop: threading.Event | None = None) -> None:
        """Poll until `stop` is set; back to work at once while there is a backlog."""
        stop = stop or threading.Event()
        while not stop.is_set():
            if not self.run_once():
                stop.wait(interval)
        if self.amqp is not None:
            self.amqp.close()


def build_worker(app) -> EventsWorker:
    """A worker with its own database sessions and clients, for a thread or the CLI."""


    svc = app.extensions["idp"]
    redis = None
    if svc.config.redis_url:

        redis = redis_lib.Redis.from_url(svc.config.redis_url, socket_timeout=2,
                                         socket_connect_timeout=2)
    with app.app_context():
        factory = sessionmaker(bind=db.engine)
    return EventsWorker(svc, factory, redis)


def start_background_publisher(app) -> threading.Thread:
    """A daemon thread per process running the events worker (Redis stream, RabbitMQ,
    webhooks; idp.events.worker), so no delivery ever waits in a request."""

    worker = build_worker(app)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, kwargs={"stop": stop}, daemon=True,
                              name="idp-events")
    thread.start()
    # `idp serve` stops it in the gunicorn master before forking workers: a fork while this
    # thread is inside an SQLite transaction leaves the workers' SQLite believing the
    # database is locked (observed: logins waited 30 s, then 503).
    app.extensions["idp_events_publisher"] = (thread, stop)
    return thread


def stop_background_publisher(app, timeout: float = 5.0) -> None:
    """Stop this process's publisher thread (if any) and wait for it."""
    running = app.extensions.pop("idp_events_publisher", None)
    if running is not None:
        thread, stop = running
        stop.set()
        thread.join(timeout)
