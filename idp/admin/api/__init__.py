"""The admin JSON API under /api/v1 (SPEC "Admin API"); described by /api/openapi.json."""

from __future__ import annotations

from flask import Blueprint, request

from idp.errors import DomainError, ValidationFailed
from idp.extensions import csrf, limiter
from idp.http import domain_error_response, json_error

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")
# CSRF is checked by the caller resolution instead: only browser sessions need it.
csrf.exempt(bp)
DEFAULT_RATE_LIMIT = "600 per minute"


def _rate_limit() -> str:
    """Per client IP; an app may lower it (tests) through app.config["ADMIN_API_RATE_LIMIT"]."""
    from flask import current_app

    return current_app.config.get("ADMIN_API_RATE_LIMIT", DEFAULT_RATE_LIMIT)


limiter.limit(_rate_limit)(bp)


@bp.errorhandler(ValueError)
def _bad_value(exc):
    audit_rejected_input("bad_request", None)
    return json_error(400, "bad_request", "The request is malformed.")


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    """Rejected input (400, 422) is audited; every domain error keeps its usual JSON."""
    if exc.status in (400, 422):
        audit_rejected_input(exc.code, exc.field)
    return domain_error_response(exc)


def audit_rejected_input(code: str, field: str | None) -> None:
    """admin.input.rejected for this request (API and console), aggregated per window."""
    from idp.audit import EventType, Outcome
    from idp.rejection_audit import audit_rejection

    # Field names and codes only: the rejected values may be secrets or personal data.
    audit_rejection(EventType.ADMIN_INPUT_REJECTED, Outcome.FAILURE, ctx=_caller_context(),
                    details={"path": request.path, "method": request.method, "code": code,
                             "field": field})


def body() -> dict:
    """The JSON object sent by the caller; 400 when it is not one."""
    data = request.get_json(silent=True)
    if data is None and request.is_json and request.get_data(cache=True):
        from idp.admin.api.paging import BadRequest

        # Unparsable, or refused by input_limits (nested too deeply, a NUL in a string).
        raise BadRequest("The JSON body could not be read.")
    if not isinstance(data, dict):
        raise ValidationFailed("Send a JSON object (Content-Type: application/json).",
                               code="bad_request")
    return data


def _caller_context():
    from idp.admin.permissions import admin_context

    try:
        return admin_context()  # the admin as actor, when the caller was resolved
    except Exception:  # noqa: BLE001 - rejected before authentication: no actor
        return None


def _register() -> None:
    from idp.admin.api import (  # noqa: F401 - groups in roles
        audit,
        clients,
        imports,
        providers,
        registration,
        roles,
        tenants,
        users,
        webhooks,
    )
    from idp.admin.permissions import BearerRefused, Denied, denied_response

    bp.register_error_handler(Denied, denied_response)

    @bp.errorhandler(BearerRefused)
    def _refused(exc: BearerRefused):
        response = json_error(exc.status, exc.code, exc.message)
        response.headers["WWW-Authenticate"] = exc.www_authenticate
        return response


_register()
