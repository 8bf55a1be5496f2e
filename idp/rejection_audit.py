"""Audit of rejected requests (rate limited, CSRF, invalid admin input), aggregated.

An adapter helper: it reads the request and commits. Repeats from one address within a
window share one row (idp.audit.repeats), so refused floods cost a counter increment,
not a hash-chained insert each.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, request
from flask_wtf.csrf import CSRFError

from idp.audit import EventType, Outcome, record
from idp.audit.repeats import WINDOW, claim_row
from idp.extensions import db, limiter
from idp.http import request_context, settings
from idp.request_context import RequestContext

log = logging.getLogger("idp.audit")


def audit_rejection(event: EventType, outcome: str, *, ctx: RequestContext | None = None,
                    details: dict | None = None, **fields) -> None:
    """Record a rejected request, one row per kind, address and window; never raises."""
    ctx = ctx or request_context()
    try:
        write, repeats = claim_row(limiter.storage, settings().redis_prefix,
                                   f"{event}:{outcome}", ctx.ip or "-", time.time())
    except Exception:  # noqa: BLE001 - counter store down: write the row (fail closed)
        write, repeats = True, 0
    if not write:
        return
    details = {**(details or {}), "aggregation_window": WINDOW}
    if repeats:
        details["repeats_in_previous_window"] = repeats
    try:
        record(db.session, ctx, event, outcome=outcome, details=details, **fields)
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
