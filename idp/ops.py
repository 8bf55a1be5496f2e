"""Operations endpoints (liveness, readiness, Prometheus metrics) and the 503 mapping.

Liveness (/healthz) never touches the database; under `idp serve` both probes also have
threads of their own (idp/probe_worker.py), so they answer while every request thread
waits on a stalled database. (/healthz stays a Flask route: its first request in a
worker is what starts the event publisher, idp/admin/__init__.py.)

Readiness: the database is a hard dependency (no database, no logins) so /readyz
answers 503 without it. Redis is a soft dependency: rate limits fall back to per-process
in-memory counting and lockout lives in the database, so an unreachable Redis is
reported (`status: "degraded"`, `checks.redis: "unreachable"`) with 200. Failing
readiness on Redis would take every instance out of the load balancer at once and turn
a degraded provider into an outage. `/readyz?strict=1` also fails on Redis, for
operators who prefer that.
"""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, Flask, Response, jsonify, render_template, request
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from idp.database import database_deadline
from idp.errors import AuditUnavailable
from idp.extensions import db
from idp.http import settings

bp = Blueprint("ops", __name__)
log = logging.getLogger("idp.ops")
REDIS_TIMEOUT = 0.5
READY_DEADLINE = 1.5
_redis_clients: dict = {}
_redis_lock = threading.Lock()


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = {"database": _database_status()}
    if settings().redis_url:
        checks["redis"] = _redis_status(settings().redis_url)
    strict = request.args.get("strict") in {"1", "true"}
    hard = checks if strict else {"database": checks["database"]}
    ready = all(v == "ok" for v in hard.values())
    status = "ready" if all(v == "ok" for v in checks.values()) else (
        "degraded" if ready else "unavailable")
    response = jsonify(status=status, checks=checks)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _database_status() -> str:
    try:
        # Well under the 5 s promised: a frozen database is reported, not waited for.
        with database_deadline(READY_DEADLINE):
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
        return "ok"
    except SQLAlchemyError:
        _safe_rollback()
        return "unreachable"


def _redis_client(url: str):
    import redis

    with _redis_lock:
        client = _redis_clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT,
                                          socket_connect_timeout=REDIS_TIMEOUT)
            _redis_clients[url] = client
        return client


def _redis_status(url: str) -> str:
    import redis

    try:
        _redis_client(url).ping()
        return "ok"
    except (redis.RedisError, OSError):
        return "unreachable"


@bp.get("/metrics")
def metrics():
    from idp.metrics import render_metrics
    from idp.models.base import utcnow

    try:
        body, content_type = render_metrics(db.session, settings().session_idle_timeout, utcnow())
    finally:
        db.session.rollback()
    return Response(body, content_type=content_type)


# --- the database is down -------------------------------------------------------------

def _safe_rollback() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.invalidate()


def _database_unavailable(exc: Exception):
    """503 instead of a stack trace when the database refuses, stalls or times out."""
    from idp.http import wants_json
    from idp.metrics import note_database_unavailable

    _safe_rollback()
    note_database_unavailable()
    # The driver's first line only: the full text can carry SQL parameters.
    detail = str(getattr(exc, "orig", exc)).splitlines()[0][:200] if str(exc) else ""
    log.warning("database unavailable", extra={"error": type(getattr(exc, "orig", exc)).__name__,
                                              "detail": detail})
    message = "The service is temporarily unavailable; please retry shortly."
    if wants_json():
        response = jsonify(error="service_unavailable", message=message)
        response.status_code = 503
    else:
        response = Response(render_template("error.html", title="Temporarily unavailable",
                                            message=message), status=503, mimetype="text/html")
    response.headers["Retry-After"] = "5"
    response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask) -> None:
    """Map database connectivity failures, and an unwritable audit log, to 503."""
    # Connectivity, stalls and timeouts only: an IntegrityError is a bug, not an outage.
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)
    app.register_error_handler(PoolTimeoutError, _database_unavailable)
    # Not a DomainError page: like an outage, rolled back and retried later.
    app.register_error_handler(AuditUnavailable, _database_unavailable)
