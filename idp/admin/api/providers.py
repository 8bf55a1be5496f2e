"""/api/v1/providers: upstream identity providers of the caller's tenant."""

from __future__ import annotations

from dataclasses import asdict

from idp.admin import operations as ops
from idp.admin.api import body, bp
from idp.admin.api.paging import BadRequest, no_content, page
from idp.admin.permissions import admin_context, load_user, require, resolve_caller
from idp.errors import NotFound
from idp.extensions import db
from idp.federation.identities import describe_identity, list_identities
from idp.federation.providers import (
    ProviderSpec,
    current_spec,
    delete_provider,
    describe_provider,
    list_providers,
    query_provider,
)
from idp.http import services, settings

# Managing where people may sign in from is client-like configuration: clients:write.
WRITE = "clients:write"
_LISTS = ("scopes", "domains", "roles", "groups")
_STRINGS = ("name", "type", "issuer", "client_id", "client_secret", "metadata_url",
            "metadata_xml")
_FLAGS = ("link_by_verified_email", "existing_accounts_only", "allow_idp_initiated",
          "end_session")


def provider_spec(data: dict) -> ProviderSpec:
    """The provider described by a JSON body (or the console form); 400 on wrong types."""
    for key in _LISTS:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadRequest(f"{key} must be a list of strings.")
    for key in _STRINGS:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise BadRequest(f"{key} must be a string.")
    for key in _FLAGS:
        if data.get(key) is not None and not isinstance(data[key], bool):
            raise BadRequest(f"{key} must be true or false.")
    return ProviderSpec(name=data.get("name") or "", type=data.get("type") or "oidc",
                        **{key: data.get(key) for key in _STRINGS if key not in ("name", "type")},
                        **{key: list(data.get(key) or []) for key in _LISTS},
                        **{key: data.get(key) is True for key in _FLAGS})


def edited_spec(provider, data: dict) -> ProviderSpec:
    """PATCH: the provider's current values with those the body names replaced."""
    unknown = set(data) - {*_STRINGS, *_LISTS, *_FLAGS}
    if unknown:
        raise BadRequest(f"Unknown field: {sorted(unknown)[0]}.")
    current = asdict(current_spec(provider))
    if "metadata_xml" in data:
        current["metadata_url"] = None
    if "metadata_url" in data:
        current["metadata_xml"] = None
    return provider_spec({**current, "client_secret": None, **data})


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


@bp.patch("/providers/<ref>")
@require(WRITE)
def update_provider_route(ref):
    provider = visible_provider(ref)
    changed = ops.edit_provider(db.session, admin_context(), resolve_caller(),
                                services().keyring, provider, edited_spec(provider, body()),
                                services().outbound_policy)
    db.session.commit()
    return {**describe_provider(provider, settings().issuer), "changed": changed}


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
