"""Audit of rejected requests (rate limited, CSRF, invalid admin input).

An adapter helper: it reads the request and commits. Repeats from one address within a
window share one row (idp.audit.repeats, through the request context's gate), so a
refused flood costs a counter increment, not a hash-chained insert each.
"""

from __future__ import annotations

import logging

from flask import Flask, request
from flask_wtf.csrf import CSRFError

from idp.audit import EventType, Outcome, record
from idp.extensions import db
from idp.http import request_context
from idp.request_context import RequestContext

log = logging.getLogger("idp.audit")


def audit_rejection(event: EventType, outcome: str, *, ctx: RequestContext | None = None,
                    details: dict | None = None, **fields) -> None:
    """Record and commit a rejected request's event (aggregated by the context's repeat
    gate); never raises, since the refusal is sent either way."""
    try:
        record(db.session, ctx or request_context(), event, outcome=outcome,
               details=details, **fields)
        db.session.commit()
    except Exception:  # noqa: BLE001 - the refusal is sent either way
        db.session.rollback()
        log.exception("could not audit a rejected request")


def _csrf_rejected(exc: CSRFError):
    from idp.http import handle_http_exception

    audit_rejection(EventType.CSRF_REJECTED, Outcome.FAILURE,
                    details={"path": request.path, "method": request.method,
                             "reason": exc.description})
    return handle_http_exception(exc)


def install(app: Flask) -> None:
    """Audit CSRF rejections (then answer them as any 400)."""
    app.register_error_handler(CSRFError, _csrf_rejected)
