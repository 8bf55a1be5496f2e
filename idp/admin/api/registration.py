"""/api/v1/initial-access-tokens: let clients register themselves (RFC 7591) in a tenant."""

from __future__ import annotations

from idp.admin import operations as ops
from idp.admin.api import body, bp
from idp.admin.api.paging import page
from idp.admin.permissions import admin_context, require, resolve_caller
from idp.extensions import db
from idp.http import services
from idp.oauth.clients.initial_access_tokens import describe_token, list_tokens, load_token, revoke_token

PERMISSION = "clients:write"


@bp.get("/initial-access-tokens")
@require(PERMISSION)
def list_initial_access_tokens():
    return page([describe_token(t) for t in list_tokens(db.session, resolve_caller())], None)


@bp.post("/initial-access-tokens")
@require(PERMISSION)
def create_initial_access_token():
    row, token = ops.issue_registration_token(db.session, admin_context(), resolve_caller(),
                                              body())
    db.session.commit()
    services().registration.invalidate()
    return {**describe_token(row), "initial_access_token": token}, 201


@bp.get("/initial-access-tokens/<token_id>")
@require(PERMISSION)
def get_initial_access_token(token_id):
    return describe_token(load_token(db.session, resolve_caller(), token_id))


@bp.post("/initial-access-tokens/<token_id>/revoke")
@require(PERMISSION)
def revoke_initial_access_token(token_id):
    row = load_token(db.session, resolve_caller(), token_id)
    revoke_token(db.session, admin_context(), row)
    db.session.commit()
    services().registration.invalidate()
    return describe_token(row)
