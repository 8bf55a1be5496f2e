"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from idp.extensions import db
from idp.http import settings

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = {"database": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        checks["database"] = "unreachable"
    if settings().redis_url:
        checks["redis"] = _redis_status(settings().redis_url)
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "degraded", checks=checks), 200 if ready else 503


def _redis_status(url: str) -> str:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        client.ping()
        return "ok"
    except redis.RedisError:
        return "unreachable"


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
