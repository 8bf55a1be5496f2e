"""Prometheus metrics: HTTP requests, logins, tokens, lockouts, rate limits, sessions.

Under `idp serve` several gunicorn workers serve requests; PROMETHEUS_MULTIPROC_DIR
(set by `idp serve`) makes every worker write its samples to that folder, and /metrics
aggregates them, so a scrape sees the whole instance rather than one worker.

Login and lockout counters are fed from *committed* audit events (a SQLAlchemy
session listener), so a counter never moves for work that was rolled back.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from flask import Flask, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("idp_http_requests_total", "HTTP requests by endpoint, method and status",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("idp_http_request_duration_seconds", "HTTP request latency by endpoint",
                    ["endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LOGINS = Counter("idp_logins_total", "Password login attempts by outcome", ["outcome"])
MFA = Counter("idp_mfa_verifications_total", "Second-factor checks by outcome", ["outcome"])
TOKENS = Counter("idp_tokens_issued_total", "Token responses issued by grant type", ["grant"])
ACCESS_TOKEN_BYTES = Histogram(
    "idp_access_token_bytes", "Size of issued JWT access tokens (caches such as "
    "mod_auth_openidc's refuse large keys)", ["alg"],
    buckets=(384, 512, 640, 768, 896, 1024, 1280, 1536, 2048))
LOCKOUTS = Counter("idp_lockouts_total", "Accounts locked after repeated failures")
RATE_LIMITED = Counter("idp_rate_limit_hits_total", "Requests refused with 429 by endpoint",
                       ["endpoint"])
DB_UNAVAILABLE = Counter("idp_database_unavailable_total",
                         "Requests answered 503 because the database was unreachable")
HASHING_BUSY = Counter("idp_hashing_busy_total",
                       "Password checks answered 503 because every hash slot stayed busy")
_PENDING = "idp_metric_events"


def _endpoint() -> str:
    # The route name, never the raw path: paths carry tokens (/password/reset/<token>).
    return request.endpoint or "unmatched"


def _before() -> None:
    g.metrics_started = time.perf_counter()


def _after(response):
    started = g.pop("metrics_started", None)
    endpoint = _endpoint()
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    if started is not None:
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
    if response.status_code == 429:
        RATE_LIMITED.labels(endpoint).inc()
    if endpoint == "oauth.token" and response.status_code == 200:
        grant = request.form.get("grant_type", "unknown")
        TOKENS.labels(grant if len(grant) < 64 else "unknown").inc()
    return response


def install(app: Flask) -> None:
    """Time every request and count it by endpoint and status."""
    app.before_request(_before)
    app.after_request(_after)


# --- audit-driven counters -----------------------------------------------------------

@event.listens_for(Session, "after_flush")
def _collect_audit_events(session, flush_context):
    from idp.models.audit import AuditEvent

    pending = session.info.setdefault(_PENDING, [])
    for obj in session.new:
        if isinstance(obj, AuditEvent):
            pending.append((obj.type, obj.outcome))


@event.listens_for(Session, "after_commit")
def _count_committed(session):
    for type_, outcome in session.info.pop(_PENDING, []):
        if type_ == "auth.login":
            LOGINS.labels(outcome).inc()
        elif type_ == "auth.mfa":
            MFA.labels(outcome).inc()
        elif type_ == "user.locked":
            LOCKOUTS.inc()


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session):
    session.info.pop(_PENDING, None)


# --- exposition ------------------------------------------------------------------------

def _active_sessions(db, idle_timeout: int, now) -> int:
    from idp.models.sessions import UserSession

    return db.execute(
        select(func.count()).select_from(UserSession).where(
            UserSession.revoked_at.is_(None), UserSession.expires_at > now,
            UserSession.last_seen_at > now - timedelta(seconds=idle_timeout))
    ).scalar_one()


class _SessionsCollector:
    """A per-scrape gauge read from the database (the same whichever worker answers)."""

    def __init__(self, count: int):
        self._count = count

    def collect(self):
        yield GaugeMetricFamily("idp_active_sessions",
                                "Browser sessions neither revoked nor expired", value=self._count)


def _scrape_registry(db, idle_timeout: int, now) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_SessionsCollector(_active_sessions(db, idle_timeout, now)))
    return registry


def render_metrics(db, idle_timeout: int, now) -> tuple[bytes, str]:
    """The exposition text: every worker's counters plus database-derived gauges."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    body += generate_latest(_scrape_registry(db, idle_timeout, now))
    return body, CONTENT_TYPE_LATEST


def note_database_unavailable() -> None:
    DB_UNAVAILABLE.inc()


def note_hashing_busy() -> None:
    HASHING_BUSY.inc()
