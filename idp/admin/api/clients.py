"""/api/v1/clients: list, register, show (with usage), edit, rotate secret, revoke, delete,
and the client's long-lived SCIM tokens (issue, list, revoke)."""

from __future__ import annotations

from flask import request

from idp.admin import operations as ops
from idp.admin.api import body, bp
from idp.admin.api.paging import no_content, page
from idp.admin.permissions import admin_context, load_client, require, resolve_caller
from idp.extensions import db
from idp.http import services
from idp.models.oauth import Client
from idp.oauth.clients.scim_tokens import (
    describe_scim_token,
    issue_scim_token,
    list_scim_tokens,
    revoke_scim_token,
)
from idp.oauth.clients.service import (
    delete_client,
    describe_client,
    revoke_client,
)


def readable_client(client_id: str) -> Client:
    """A client the caller may look at: with `clients:write`, or `audit:read` to read."""
    caller = resolve_caller()
    return load_client(client_id, "clients:write" if caller.can("clients:write")
                       else "audit:read")


@bp.get("/clients")
@require("clients:write", "audit:read", any_of=True)
def list_clients():
    rows = ops.list_clients(db.session, resolve_caller())
    return page([describe_client(c) for c in rows], None)


@bp.post("/clients")
@require("clients:write")
def create_client_route():
    client, secret = ops.register_client(db.session, admin_context(), resolve_caller(),
                                         services().keyring, body(), services().outbound_policy,
                                         services().config)
    db.session.commit()
    return {**describe_client(client), "client_secret": secret}, 201


@bp.get("/clients/<client_id>")
@require("clients:write", "audit:read", any_of=True)
def get_client(client_id):
    client = readable_client(client_id)
    return describe_client(client, ops.client_usage(db.session, client))


@bp.patch("/clients/<client_id>")
@require("clients:write")
def edit_client_route(client_id):
    client = load_client(client_id)
    secret = ops.edit_client(db.session, admin_context(), resolve_caller(), services().keyring,
                             client, body(), services().outbound_policy, services().config)
    db.session.commit()
    extra = {"client_secret": secret} if secret else {}
    return {**describe_client(client), **extra}


@bp.post("/clients/<client_id>/rotate")
@require("clients:write")
def rotate_client(client_id):
    client = load_client(client_id)
    data = body() if request.get_data(cache=True) else {}
    secret = ops.rotate_secret(db.session, admin_context(), services().keyring, client,
                               data.get("grace", 0))
    db.session.commit()
    return {"client_id": client.id, "client_secret": secret}


@bp.post("/clients/<client_id>/revoke")
@require("clients:write")
def revoke_client_route(client_id):
    client = load_client(client_id)
    revoke_client(db.session, admin_context(), client)
    db.session.commit()
    return describe_client(client)


@bp.delete("/clients/<client_id>")
@require("clients:write")
def delete_client_route(client_id):
    delete_client(db.session, admin_context(), load_client(client_id))
    db.session.commit()
    return no_content()


# --- SCIM tokens (docs/scim.md): for directories that store a static bearer token -------

@bp.get("/clients/<client_id>/scim-tokens")
@require("clients:write", "audit:read", any_of=True)
def list_scim_tokens_route(client_id):
    return page([describe_scim_token(t) for t in list_scim_tokens(
        db.session, readable_client(client_id))], None)


@bp.post("/clients/<client_id>/scim-tokens")
@require("clients:write")
def issue_scim_token_route(client_id):
    client = load_client(client_id)
    data = body() if request.get_data(cache=True) else {}
    row, value = issue_scim_token(db.session, admin_context(), client, data.get("days"))
    db.session.commit()
    return {**describe_scim_token(row), "scim_token": value}, 201


@bp.delete("/clients/<client_id>/scim-tokens/<token_id>")
@require("clients:write")
def revoke_scim_token_route(client_id, token_id):
    revoke_scim_token(db.session, admin_context(), load_client(client_id), token_id)
    db.session.commit()
    return no_content()
