"""/api/v1/providers: upstream identity providers of the caller's tenant."""

from __future__ import annotations

from idp.accounts.access import named_roles
from idp.accounts.tenants import query_tenant
from idp.admin.api import body, bp
from idp.admin.api.paging import BadRequest, no_content, page
from idp.admin.permissions import admin_context, load_user, require, resolve_caller
from idp.errors import NotFound, ValidationFailed
from idp.extensions import db
from idp.federation.identities import describe_identity, list_identities
from idp.federation.providers import (
    ProviderSpec,
    create_provider,
    delete_provider,
    describe_provider,
    list_providers,
    query_provider,
)
from idp.http import services, settings
from idp.rbac.authorization import ensure_may_grant

# Managing where people may sign in from is client-like configuration: clients:write.
WRITE = "clients:write"
_LISTS = ("scopes", "domains", "roles")


def _spec(data: dict) -> ProviderSpec:
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


def _visible(ref: str):
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
    caller, data = resolve_caller(), body()
    spec = _spec(data)
    tenant = query_tenant(db.session, str(caller.tenant_id)) if caller.tenant_id else None
    if caller.access.all_tenants and isinstance(data.get("tenant"), str):
        tenant = query_tenant(db.session, data["tenant"])
    if tenant is None:
        raise ValidationFailed("Name the tenant.", field="tenant")
    ensure_may_grant(caller, named_roles(db.session, spec.roles, tenant.id), permission=WRITE)
    provider = create_provider(db.session, admin_context(), services().keyring, tenant, spec,
                               services().outbound_policy)
    db.session.commit()
    return describe_provider(provider, settings().issuer), 201


@bp.get("/providers/<ref>")
@require(WRITE, "audit:read", any_of=True)
def get_provider_route(ref):
    return describe_provider(_visible(ref), settings().issuer)


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
    delete_provider(db.session, admin_context(), _visible(ref))
    db.session.commit()
    return no_content()
