"""Console page for dynamic client registration (RFC 7591): issue, list and revoke initial
access tokens. A new token is shown once, on the page after the redirect (as secrets are)."""

from __future__ import annotations

from flask import redirect, request, url_for

from idp.admin import operations as ops
from idp.admin.permissions import admin_context, require, resolve_caller
from idp.admin.ui import bp
from idp.admin.ui.common import done, keep_for_next_page, page, refused_input, take_once
from idp.errors import ValidationFailed
from idp.extensions import db
from idp.http import services
from idp.oauth.clients.initial_access_tokens import (
    POLICY_GRANT_TYPES,
    describe_token,
    list_tokens,
    load_token,
    revoke_token,
)

PERMISSION = "clients:write"
MAX_HOURS = 365 * 24


def _whole(name: str, default: int, low: int, high: int) -> int:
    value = request.form.get(name, "").strip() or str(default)
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValidationFailed(f"{name.replace('_', ' ').capitalize()} must be a whole "
                               f"number from {low} to {high}.", field=name)
    return int(value)


def form_data() -> dict:
    """The form's fields in the API's shape."""
    return {"uses": _whole("uses", 1, 0, 100_000),
            "expires_in": _whole("expires_hours", 24, 1, MAX_HOURS) * 3600,
            "grant_types": request.form.getlist("grant_types") or None,
            "redirect_uri_prefixes": [line.strip() for line in
                                      request.form.get("redirect_uri_prefixes", "").splitlines()
                                      if line.strip()],
            "scopes": request.form.get("scopes", "").split() or None}


def _page(status: int = 200, error: ValidationFailed | None = None, token: str | None = None):
    rows = list_tokens(db.session, resolve_caller(check_csrf=False))
    return page("admin/registration_tokens.html", status, error=error, token=token,
                tokens=[describe_token(t) for t in rows], grant_types=sorted(POLICY_GRANT_TYPES),
                values=request.form if error else {})


@bp.get("/clients/registration")
@require(PERMISSION)
def registration_tokens():
    return _page(token=take_once("initial_access_token", "new"))


@bp.post("/clients/registration")
@require(PERMISSION)
def create_registration_token():
    try:
        _row, token = ops.issue_registration_token(db.session, admin_context(),
                                                   resolve_caller(), form_data())
    except ValidationFailed as exc:
        refused_input(exc)
        return _page(422, exc)
    db.session.commit()
    services().registration.invalidate()
    keep_for_next_page("initial_access_token", "new", token)
    return redirect(url_for("admin_ui.registration_tokens"))


@bp.post("/clients/registration/<token_id>/revoke")
@require(PERMISSION)
def revoke_registration_token(token_id):
    revoke_token(db.session, admin_context(), load_token(db.session, resolve_caller(), token_id))
    db.session.commit()
    services().registration.invalidate()
    return done("The initial access token was revoked.", "admin_ui.registration_tokens")
