"""Console page for upstream identity providers ("Sign in with N"): list, add, delete."""

from __future__ import annotations

from flask import request

from idp.admin import operations as ops
from idp.admin.api.providers import WRITE, provider_spec, visible_provider
from idp.admin.permissions import admin_context, require, resolve_caller
from idp.admin.ui import bp
from idp.admin.ui.common import done, page
from idp.extensions import db
from idp.federation.providers import delete_provider, describe_provider, list_providers
from idp.http import services, settings


@bp.get("/providers")
@require(WRITE, "audit:read", any_of=True)
def providers():
    caller = resolve_caller(check_csrf=False)
    rows = [describe_provider(p, settings().issuer)
            for p in list_providers(db.session, caller.tenant_scope)]
    return page("admin/providers.html", providers=rows,
                roles=[r.name for r in ops.list_roles(db.session, caller)])


@bp.post("/providers")
@require(WRITE)
def create_provider_page():
    form = request.form
    data = {"name": form.get("name", "").strip(), "type": form.get("type") or "oidc",
            "issuer": form.get("issuer", "").strip() or None,
            "client_id": form.get("client_id", "").strip() or None,
            "client_secret": form.get("client_secret") or None,
            "scopes": form.get("scopes", "").split(), "domains": form.get("domains", "").split(),
            "roles": form.getlist("roles"),
            "link_by_verified_email": form.get("link_by_verified_email") == "on",
            "existing_accounts_only": form.get("existing_accounts_only") == "on"}
    provider = ops.register_provider(db.session, admin_context(), resolve_caller(),
                                     services().keyring, provider_spec(data), None,
                                     services().outbound_policy)
    db.session.commit()
    return done(f"Provider {provider.name} was added. Register "
                f"{describe_provider(provider, settings().issuer)['redirect_uri']} at the "
                "upstream.", "admin_ui.providers")


@bp.post("/providers/<ref>/delete")
@require(WRITE)
def delete_provider_page(ref):
    provider = visible_provider(ref)
    name = provider.name
    delete_provider(db.session, admin_context(), provider)
    db.session.commit()
    return done(f"Provider {name} was deleted.", "admin_ui.providers")
