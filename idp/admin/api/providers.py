"""/api/v1/providers: upstream identity providers of the caller's tenant."""

from __future__ import annotations

from idp.admin import operations as ops
from idp.admin.api import body, bp
from idp.admin.api.paging import BadRequest, no_content, page
from idp.admin.permissions import admin_context, load_user, require, resolve_caller
from idp.errors import NotFound
from idp.extensions import db
from idp.federation.identities import describe_identity, list_identities
from idp.federation.providers import (
    ProviderSpec,
    delete_provider,
    describe_provider,
    list_providers,
    query_provider,
)
from idp.http import services, settings

# Managing where people may sign in from is client-like configuration: clients:write.
WRITE = "clients:write"
_LISTS = ("scopes", "domains", "roles", "groups")


def provider_spec(data: dict) -> ProviderSpec:
    """The provider described by a JSON body (or the console form); 400 on wrong types."""
    for key in _LISTS:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadRequest(f"{key} must be a list of strings.")
    for key in ("name", "type", "issuer", "client_id", "client_secret"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise BadRequest(f"{key} must be a string.")
    return ProviderSpec(name=data.get("name") or "", type=data.get("type") or "oidc",
                        issuer=data.get("issuer"), client_id=data.get("client_id"),
                        client_secret=data.get("client_secret"),
                        **{key: list(data.get(key) or []) for key in _LISTS},
                        link_by_verified_email=data.get("link_by_verified_email") is True,
                        existing_accounts_only=data.get("existing_accounts_only") is True)


def visible_provider(ref: str):
    """A provider of a tenant the caller sees (404 otherwise, never revealed)."""
    caller = resolve_caller()
    provider = query_provider(db.session, ref)
    if not caller.sees_tenant(provider.tenant_id):
        raise NotFound("No such provider.")
    return provider


@bp.get("/providers")
@require(WRITE, "audit:read", any_of=True)
def list_providers_route():
    caller = resolve_caller()
    rows = [p for p in list_providers(db.session, caller.tenant_scope)]
    return page([describe_provider(p, settings().issuer) for p in rows], None)


@bp.post("/providers")
@require(WRITE)
def create_provider_route():
    data = body()
    provider = ops.register_provider(db.session, admin_context(), resolve_caller(),
                                     services().keyring, provider_spec(data), data.get("tenant"),
                                     services().outbound_policy)
    db.session.commit()
    return describe_provider(provider, settings().issuer), 201


@bp.get("/providers/<ref>")
@require(WRITE, "audit:read", any_of=True)
def get_provider_route(ref):
    return describe_provider(visible_provider(ref), settings().issuer)


@bp.get("/users/<user_id>/identities")
@require("users:read")
def user_identities_route(user_id):
    """What an admin sees on the person page: their linked sign-ins."""
    user = load_user(user_id, "users:read")
    return page([describe_identity(identity, provider)
                 for identity, provider in list_identities(db.session, user)], None)


@bp.delete("/providers/<ref>")
@require(WRITE)
def delete_provider_route(ref):
    delete_provider(db.session, admin_context(), visible_provider(ref))
    db.session.commit()
    return no_content()
