"""Console pages for applications (OAuth clients): register, edit, rotate, revoke, delete.

A new secret is never rendered by the POST that made it: the POST keeps it for the next
page (common.keep_for_next_page) and redirects, and the page shows it once, so a reload
neither registers a second client nor shows the secret again.
"""

from __future__ import annotations

from flask import redirect, request, url_for

from idp.admin import operations as ops
from idp.admin.permissions import admin_context, load_client, require, resolve_caller
from idp.admin.ui import bp
from idp.admin.ui.common import done, keep_for_next_page, page, refused_input, take_once
from idp.errors import Conflict, NotFound, ValidationFailed
from idp.extensions import db
from idp.http import services
from idp.oauth.clients import scim_tokens
from idp.oauth.clients.scim_tokens import describe_scim_token, is_scim_token, list_scim_tokens
from idp.oauth.clients.service import LIFETIMES, describe_client
from idp.oauth.constants import CONFIDENTIAL_AUTH_METHODS, SCIM_SCOPE, SIGNING_ALGS
from idp.oauth.fapi import SECURITY_PROFILES
from idp.oauth.tokens.claims import SUPPORTED_SCOPES

KINDS = {
    "web": ("Web application", "A server-side app that keeps a secret (authorization code "
            "flow, PKCE when the app sends it)."),
    "spa": ("Single-page app", "JavaScript in the browser: public client, no secret, "
            "PKCE required."),
    "native": ("Native or mobile app", "Installed app: public client, PKCE required; "
               "redirect URIs use a reverse-domain scheme (com.example.app:/cb) or "
               "http://127.0.0.1."),
    "service": ("Service (machine to machine)", "Client credentials grant, no person "
                "signs in."),
}
_CONFIRM = {  # action: (title, text, button, danger)
    "rotate": ("Rotate the secret", "A new secret is made and shown once. The current "
               "secret keeps working only for the grace period you set.", "Rotate secret",
               False),
    "revoke": ("Revoke the client", "It gets no new tokens and its current tokens stop "
               "working at once.", "Revoke client", True),
    "delete": ("Delete the client", "Permanent: the client, its secrets and its usage "
               "history are removed. Revoking is the reversible step.", "Delete client", True),
}


def _lines(name: str) -> list[str]:
    return [line.strip() for line in request.form.get(name, "").splitlines() if line.strip()]


def _days(name: str) -> int | None:
    days = request.form.get(name, "").strip()
    if not days:
        return None
    if not days.isdigit() or not 0 < int(days) * 86400 <= ops.MAX_EXPIRY:
        raise ValidationFailed("Days must be a whole number from 1 to 3650.", field=name)
    return int(days) * 86400


def _seconds(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise ValidationFailed(f"{name} must be a whole number of seconds.", field=name)
    return int(value)


def form_data(kind: str) -> dict:
    """The registration fields a console form posts, in the API's shape."""
    data = {"name": request.form.get("name", "").strip(),
            "scopes": request.form.get("scopes", "").split(),
            "token_alg": request.form.get("token_alg") or "RS256",
            "access_token_ttl": _seconds("access_token_ttl")}
    if kind != "service":
        data |= {"refresh_token_ttl": _seconds("refresh_token_ttl"),
                 "id_token_ttl": _seconds("id_token_ttl")}
    if kind == "service":
        data |= {"grant_types": ["client_credentials"], "roles": request.form.getlist("roles"),
                 "audiences": request.form.get("audiences", "").split()}
        if (expires := _days("expires_days")) is not None:
            data["expires_in"] = expires
        return data
    grants = ["authorization_code"] + (["refresh_token"] if request.form.get("refresh_token")
                                       else [])
    data |= {"grant_types": grants, "redirect_uris": _lines("redirect_uris"),
             "post_logout_redirect_uris": _lines("post_logout_redirect_uris"),
             "first_party": bool(request.form.get("first_party")),
             # An empty field clears the setting; the API's rules check the URL.
             "backchannel_logout_uri": request.form.get("backchannel_logout_uri",
                                                        "").strip() or None,
             "backchannel_logout_session_required": bool(
                 request.form.get("backchannel_logout_session_required")),
             "require_pushed_authorization_requests": bool(
                 request.form.get("require_pushed_authorization_requests")),
             "require_dpop_nonce": bool(request.form.get("require_dpop_nonce"))}
    if kind == "web":
        data["auth_method"] = request.form.get("auth_method") or "client_secret_basic"
        data["jwks_uri"] = request.form.get("jwks_uri", "").strip() or None
        data["security_profile"] = request.form.get("security_profile") or None
        data["require_pkce"] = bool(request.form.get("require_pkce"))
    else:
        data |= {"public": True, "auth_method": "none"}
    return data


def kind_of(client: dict) -> str:
    """Which console form fits a registered client."""
    if "authorization_code" not in client["grant_types"]:
        return "service"
    if not client["public"]:
        return "web"
    web = all(u.startswith(("http://", "https://")) for u in client["redirect_uris"])
    return "spa" if web else "native"


def _form(kind: str, values: dict, error: ValidationFailed | None = None, client=None):
    caller = resolve_caller(check_csrf=False)
    return page("admin/client_form.html", 422 if error else 200, kind=kind, kinds=KINDS,
                profiles=SECURITY_PROFILES,
                values=values, error=error, client=client, scopes=SUPPORTED_SCOPES,
                auth_methods=CONFIDENTIAL_AUTH_METHODS, algs=SIGNING_ALGS,
                limits={k: getattr(services().config, k) for k in LIFETIMES},
                roles=[r.name for r in ops.list_roles(db.session, caller)])


@bp.get("/clients")
@require("clients:write", "audit:read", any_of=True)
def clients():
    caller = resolve_caller(check_csrf=False)
    return page("admin/clients.html", kinds=KINDS,
                clients=[describe_client(c) for c in ops.list_clients(db.session, caller)])


@bp.get("/clients/new")
@require("clients:write")
def new_client():
    kind = request.args.get("kind", "web")
    if kind not in KINDS:
        raise NotFound("No such kind of application.")
    return _form(kind, {"refresh_token": True, "token_alg": "RS256"})


@bp.post("/clients/new")
@bp.post("/clients")
@require("clients:write")
def create_client():
    """Register an application of the chosen kind; then show its secret once (PRG)."""
    kind = request.form.get("kind", "service")
    if kind not in KINDS:
        raise ValidationFailed("Choose a kind of application.", field="kind")
    try:
        data = form_data(kind)
        client, secret = ops.register_client(db.session, admin_context(), resolve_caller(),
                                             services().keyring, data,
                                             services().outbound_policy, services().config)
    except ValidationFailed as exc:
        refused_input(exc)
        return _form(kind, request.form.to_dict() | {"roles": request.form.getlist("roles")},
                     exc)
    db.session.commit()
    keep_for_next_page("client", client.id, secret)
    return done(f"{client.name} was registered.", "admin_ui.client_detail", client_id=client.id)


@bp.get("/clients/<client_id>")
@require("clients:write", "audit:read", any_of=True)
def client_detail(client_id):
    caller = resolve_caller(check_csrf=False)
    client = load_client(client_id, "clients:write" if caller.can("clients:write")
                         else "audit:read")
    return _detail(client, take_once("client", client.id))


def _detail(client, secret: str | None, error: str | None = None):
    """The client's page; a new secret or SCIM token (kept for this page once) shown."""
    described = describe_client(client, ops.client_usage(db.session, client))
    scim_token = secret if secret and is_scim_token(secret) else None
    return page("admin/client_detail.html", 422 if error else 200, client=described,
                kind=KINDS[kind_of(described)], secret=None if scim_token else secret,
                scim_token=scim_token, scim_error=error, scim=SCIM_SCOPE in client.scopes,
                scim_tokens=[describe_scim_token(t) for t in list_scim_tokens(
                    db.session, client)])


@bp.post("/clients/<client_id>/scim-tokens")
@require("clients:write")
def issue_scim_token(client_id):
    """A long-lived SCIM token (docs/scim.md), shown once on the client's page."""
    client = load_client(client_id)
    try:
        _, value = scim_tokens.issue_scim_token(db.session, admin_context(), client,
                                                request.form.get("days") or None)
    except (ValidationFailed, Conflict) as exc:
        refused_input(exc)
        return _detail(load_client(client_id), None, exc.message)
    db.session.commit()
    keep_for_next_page("client", client.id, value)
    return redirect(url_for("admin_ui.client_detail", client_id=client.id))


@bp.post("/clients/<client_id>/scim-tokens/<token_id>/revoke")
@require("clients:write")
def revoke_scim_token(client_id, token_id):
    scim_tokens.revoke_scim_token(db.session, admin_context(), load_client(client_id), token_id)
    db.session.commit()
    return done("The SCIM token was revoked.", "admin_ui.client_detail", client_id=client_id)


@bp.route("/clients/<client_id>/edit", methods=["GET", "POST"])
@require("clients:write")
def edit_client(client_id):
    """The registration form filled with the client's settings; saved by the same rules."""
    client = load_client(client_id)
    described = describe_client(client)
    kind = kind_of(described)
    if request.method == "GET":
        values = {**described, "redirect_uris": "\n".join(described["redirect_uris"]),
                  "post_logout_redirect_uris": "\n".join(
                      described["post_logout_redirect_uris"]),
                  "scopes": " ".join(described["scopes"]),
                  "audiences": " ".join(described["audiences"]),
                  "refresh_token": "refresh_token" in described["grant_types"],
                  "token_alg": client.access_token_alg}
        return _form(kind, values, client=described)
    try:
        secret = ops.edit_client(db.session, admin_context(), resolve_caller(),
                                 services().keyring, client, form_data(kind),
                                 services().outbound_policy, services().config)
    except ValidationFailed as exc:
        refused_input(exc)
        return _form(kind, request.form.to_dict() | {"roles": request.form.getlist("roles")},
                     exc, client=described)
    db.session.commit()
    keep_for_next_page("client", client.id, secret)
    return done(f"{client.name} was saved.", "admin_ui.client_detail", client_id=client.id)


def _confirm(client, action: str, error: str | None = None, grace="3600"):
    title, text, button, danger = _CONFIRM[action]
    return page("admin/confirm_step.html", 422 if error else 200, title=title, text=text,
                button=button, danger=danger, error=error,
                subject=f"{client.name} ({client.id})",
                action=url_for(f"admin_ui.{action}_client", client_id=client.id),
                cancel=url_for("admin_ui.client_detail", client_id=client.id),
                grace=grace if action == "rotate" else None, max_grace=ops.MAX_GRACE)


@bp.get("/clients/<client_id>/<any(rotate, revoke, delete):action>")
@require("clients:write")
def confirm_client_action(client_id, action):
    return _confirm(load_client(client_id), action)


@bp.post("/clients/<client_id>/rotate")
@require("clients:write")
def rotate_client(client_id):
    client = load_client(client_id)
    grace = request.form.get("grace", "0")
    try:
        secret = ops.rotate_secret(db.session, admin_context(), services().keyring, client,
                                   grace)
    except ValidationFailed as exc:
        refused_input(exc)
        return _confirm(client, "rotate", exc.message, grace)
    db.session.commit()
    keep_for_next_page("client", client.id, secret)
    return redirect(url_for("admin_ui.client_detail", client_id=client.id))


@bp.post("/clients/<client_id>/revoke")
@require("clients:write")
def revoke_client(client_id):
    from idp.oauth.clients.service import revoke_client as revoke

    revoke(db.session, admin_context(), load_client(client_id))
    db.session.commit()
    return done("The client was revoked.", "admin_ui.client_detail", client_id=client_id)


@bp.post("/clients/<client_id>/delete")
@require("clients:write")
def delete_client(client_id):
    from idp.oauth.clients.service import delete_client as delete

    client = load_client(client_id)
    name = client.name
    delete(db.session, admin_context(), client)
    db.session.commit()
    return done(f"Client {name} was deleted.", "admin_ui.clients")
