"""/api/v1/clients: list, register, show (with usage), rotate secret, revoke, delete."""

from __future__ import annotations

from sqlalchemy import select

from idp.accounts.tenants import query_tenant
from idp.admin.api import body, bp
from idp.admin.api.paging import BadRequest, no_content, page
from idp.admin.permissions import admin_context, in_scope, require, resolve_caller
from idp.errors import Forbidden, ValidationFailed
from idp.extensions import db
from idp.http import services
from idp.models.oauth import Client, ClientUsageDay
from idp.oauth.clients import (
    ClientSpec,
    create_client,
    delete_client,
    describe_client,
    revoke_client,
    rotate_client_secret,
)

LIST_FIELDS = {"name": str, "grant_types": list, "redirect_uris": list,
               "post_logout_redirect_uris": list, "scopes": list, "public": bool,
               "first_party": bool, "auth_method": str, "jwks_uri": str, "roles": list,
               "audiences": list, "token_alg": str, "expires_in": int}
MAX_EXPIRY = 10 * 365 * 86400


def load_client(client_id: str) -> Client:
    return in_scope(db.session.get(Client, client_id[:64]))


def _usage(client: Client) -> list:
    return db.session.execute(select(ClientUsageDay).where(ClientUsageDay.client_id == client.id)
                              .order_by(ClientUsageDay.day.desc()).limit(90)).scalars().all()


@bp.get("/clients")
@require("clients:write", "audit:read", any_of=True)
def list_clients():
    scope = resolve_caller().tenant_scope
    stmt = select(Client).order_by(Client.created_at, Client.id)
    if scope is not None:
        stmt = stmt.where(Client.tenant_id == scope)
    return page([describe_client(c) for c in db.session.execute(stmt).scalars()], None)


def _spec(data: dict) -> ClientSpec:
    unknown = sorted(set(data) - set(LIST_FIELDS) - {"tenant"})
    if unknown:
        raise ValidationFailed(f"Unknown fields: {unknown}.", field=unknown[0])
    for key, kind in LIST_FIELDS.items():
        value = data.get(key)
        if value is not None and (not isinstance(value, kind) or (
                kind is list and not all(isinstance(v, str) for v in value))
                or (kind is int and (isinstance(value, bool) or not 0 < value <= MAX_EXPIRY))):
            raise ValidationFailed(f"{key} has the wrong type or is out of range.", field=key)
    grants = data.get("grant_types") or (["authorization_code", "refresh_token"]
                                         if data.get("redirect_uris") else ["client_credentials"])
    return ClientSpec(name=data.get("name") or "", grant_types=grants,
                      redirect_uris=data.get("redirect_uris") or [],
                      post_logout_redirect_uris=data.get("post_logout_redirect_uris") or [],
                      scopes=data.get("scopes") or [], public=bool(data.get("public")),
                      first_party=bool(data.get("first_party")),
                      auth_method=data.get("auth_method"), jwks_uri=data.get("jwks_uri"),
                      roles=data.get("roles") or [], audiences=data.get("audiences") or [],
                      token_alg=data.get("token_alg") or "RS256",
                      expires_in=data.get("expires_in"))


@bp.post("/clients")
@require("clients:write")
def create_client_route():
    return register_client(body()), 201


def register_client(data: dict) -> dict:
    """Register a client for the calling admin (API and console); its secret, shown once."""
    from idp.accounts.access import named_roles

    spec = _spec(data)
    caller = resolve_caller()
    tenant = query_tenant(db.session, str(caller.tenant_id))
    if caller.access.all_tenants and isinstance(data.get("tenant"), str):
        tenant = query_tenant(db.session, data["tenant"])
    roles = named_roles(db.session, spec.roles or [], tenant.id)
    if len(roles) != len(set(spec.roles or [])):
        raise ValidationFailed("Unknown role.", field="roles")
    if any(not set(r.permissions or []) <= caller.access.permissions for r in roles):
        raise Forbidden("A client cannot get rights you do not hold.")
    client, secret = create_client(db.session, admin_context(), services().keyring, tenant, spec)
    db.session.commit()
    return {**describe_client(client), "client_secret": secret}


@bp.get("/clients/<client_id>")
@require("clients:write", "audit:read", any_of=True)
def get_client(client_id):
    client = load_client(client_id)
    return describe_client(client, _usage(client))


@bp.post("/clients/<client_id>/rotate")
@require("clients:write")
def rotate_client(client_id):
    client = load_client(client_id)
    data = body() if _has_body() else {}
    grace = data.get("grace", 0)
    if not isinstance(grace, int) or isinstance(grace, bool) or grace > 30 * 86400:
        raise BadRequest("grace must be a number of seconds (at most 30 days).")
    secret = rotate_client_secret(db.session, admin_context(), services().keyring, client, grace)
    db.session.commit()
    return {"client_id": client.id, "client_secret": secret}


def _has_body() -> bool:
    from flask import request

    return bool(request.get_data(cache=True))


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
