"""Console page for upstream identity providers ("Sign in with N"): list, add, edit, delete."""

from __future__ import annotations

from flask import request

from idp.admin import operations as ops
from idp.admin.api.providers import WRITE, edited_spec, provider_spec, visible_provider
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
    kind = form.get("type") or "oidc"
    data = {**_form_values(form, kind), "type": kind}
    provider = ops.register_provider(db.session, admin_context(), resolve_caller(),
                                     services().keyring, provider_spec(data), None,
                                     services().outbound_policy)
    db.session.commit()
    return done(f"Provider {provider.name} was added. Register "
                f"{describe_provider(provider, settings().issuer)['redirect_uri']} at the "
                "upstream.", "admin_ui.providers")


def _form_values(form, kind: str) -> dict:
    """The provider fields of the add or edit form that apply to its type."""
    data = {"name": form.get("name", "").strip(), "domains": form.get("domains", "").split(),
            "roles": form.getlist("roles"),
            "link_by_verified_email": form.get("link_by_verified_email") == "on",
            "existing_accounts_only": form.get("existing_accounts_only") == "on"}
    if form.get("client_secret"):
        data["client_secret"] = form["client_secret"]
    if kind == "saml":
        data["allow_idp_initiated"] = form.get("allow_idp_initiated") == "on"
        for key in ("metadata_url", "metadata_xml"):
            if form.get(key, "").strip():
                data[key] = form[key].strip()
        return data
    data.update(issuer=form.get("issuer", "").strip() or None,
                client_id=form.get("client_id", "").strip() or None,
                scopes=form.get("scopes", "").split())
    if kind == "oidc":
        data["end_session"] = form.get("end_session") == "on"
    return data


@bp.post("/providers/<ref>/edit")
@require(WRITE)
def edit_provider_page(ref):
    provider = visible_provider(ref)
    changed = ops.edit_provider(db.session, admin_context(), resolve_caller(),
                                services().keyring, provider,
                                edited_spec(provider, _form_values(request.form, provider.type)),
                                services().outbound_policy)
    db.session.commit()
    return done(f"Provider {provider.name} was saved ({', '.join(changed) or 'no changes'}).",
                "admin_ui.providers")


@bp.post("/providers/<ref>/delete")
@require(WRITE)
def delete_provider_page(ref):
    provider = visible_provider(ref)
    name = provider.name
    delete_provider(db.session, admin_context(), provider)
    db.session.commit()
    return done(f"Provider {name} was deleted.", "admin_ui.providers")
