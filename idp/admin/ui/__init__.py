"""The admin console under /admin: server-rendered pages over the same services as the API.

Every destructive action is a two-step form: a confirmation page (GET) that says what will
happen, then the POST (with CSRF) that does it, so nothing happens by a stray click and no
script is needed.
"""

from flask import Blueprint, redirect, request, url_for

from idp.admin.permissions import Denied, denied_response
from idp.errors import Unauthorized, ValidationFailed
from idp.http import domain_error_response

bp = Blueprint("admin_ui", __name__, url_prefix="/admin")


@bp.errorhandler(Unauthorized)
def _sign_in_first(exc):
    # The page with its query (/admin/audit?user=…) opens again after signing in.
    target = request.full_path.rstrip("?") if request.method == "GET" else request.path
    return redirect(url_for("web.login", next=target))


bp.register_error_handler(Denied, denied_response)


@bp.errorhandler(ValidationFailed)
def _rejected_input(exc: ValidationFailed):
    from idp.admin.api import audit_rejected_input

    audit_rejected_input(exc.code, exc.field)
    return domain_error_response(exc)


@bp.app_template_filter("event_label")
def _event_label(code: str) -> str:
    from idp.audit.events import event_label

    return event_label(code)


@bp.get("/")
def index():
    return redirect(url_for("admin_ui.users"))


from idp.admin.ui import (  # noqa: E402, F401 - registers routes
    applications,
    audit,
    people,
    providers,
    registration,
    settings_pages,
    tenant_forms,
    webhooks,
)
