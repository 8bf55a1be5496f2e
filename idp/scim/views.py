"""/scim/v2 (RFC 7644): the HTTP adapter. Bearer tokens of service clients with scope
`idp:scim`; every call confined to the client's tenant and checked by the admin rule
(idp.rbac.authorization); errors in SCIM's shape; one commit per request."""

from __future__ import annotations

import dataclasses
import importlib

from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import HTTPException

from idp.errors import DomainError
from idp.extensions import csrf, db
from idp.http import services, settings
from idp.oauth.clients.scim_tokens import find_live_scim_token, is_scim_token
from idp.oauth.constants import SCIM_SCOPE
from idp.rate_limits import client_request_limit, scim_limit
from idp.rbac.access import client_access
from idp.rbac.authorization import Caller, Denied, record_denial
from idp.resource import TokenError, bearer_token
from idp.scim.names import MEDIA_TYPE, ScimError, from_domain_error


class _OnFirstUse:
    """A module imported on first use. The resource modules pull in scim2-models, whose
    pydantic models cost a serving worker about a second of start-up and tens of MB
    while most deployments never see a SCIM request (issue 20)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)


discovery = _OnFirstUse("idp.scim.discovery")
listing = _OnFirstUse("idp.scim.listing")
protocol = _OnFirstUse("idp.scim.protocol")
scim_groups = _OnFirstUse("idp.scim.groups")
scim_users = _OnFirstUse("idp.scim.users")

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
csrf.exempt(bp)  # bearer tokens only: no cookie ever authenticates here
CALLER_KEY = "idp.scim_caller"


def base_url() -> str:
    return settings().issuer.rstrip("/") + "/scim/v2"


def scim_response(document, status: int = 200, headers: dict | None = None):
    response = current_app.response_class(current_app.json.dumps(document), status=status,
                                          mimetype=MEDIA_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ScimError)
def _scim_error(exc: ScimError):
    db.session.rollback()
    headers = dict(exc.headers)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    return scim_response(exc.body(), exc.status, headers)


@bp.errorhandler(Denied)
def _denied(exc: Denied):
    """Refused by the rank rule or a missing permission: audited, nothing else applied."""
    db.session.rollback()
    caller = request.environ.get(CALLER_KEY)
    ctx = g.request_context if caller is None else dataclasses.replace(
        g.request_context, actor_id=caller.actor_id)
    record_denial(db.session, ctx, caller, exc)
    db.session.commit()
    return _scim_error(ScimError(403, exc.message))


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    return _scim_error(from_domain_error(exc))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    """Werkzeug's refusals (input limits such as NUL characters, 405...) in SCIM's shape."""
    status = exc.code or 400
    return _scim_error(ScimError(status, exc.description or exc.name,
                                 "invalidValue" if status == 400 else None))


@bp.before_request
def _authenticate():
    """RFC 7644 2: a bearer token of a service client holding scope idp:scim: its
    client-credentials access token, or a long-lived SCIM token (idp.oauth.clients.scim_tokens)."""
    token = bearer_token(request.headers)
    if not token:
        raise ScimError(401, "Send a bearer access token with scope idp:scim.")
    client = _scim_token_client(token) if is_scim_token(token) else _access_token_client(token)
    caller = Caller(client.tenant_id, client_access(db.session, list(client.roles or []),
                                                    client.tenant_id), client_id=client.id)
    request.environ[CALLER_KEY] = caller
    g.scim_ctx = dataclasses.replace(g.request_context, actor_id=caller.actor_id)
    retry = client_request_limit(scim_limit(), "scim", g.scim_ctx, client.id, client.tenant_id)
    if retry is not None:
        raise ScimError(429, f"Too many requests. Try again in {retry} seconds.",
                        headers={"Retry-After": str(retry)})


def _access_token_client(token: str):
    from idp.admin.auth import validate_admin_token

    try:
        valid = validate_admin_token(db.session, services().keys, settings().issuer, token,
                                     scope=SCIM_SCOPE)
    except TokenError as exc:
        raise ScimError(exc.status if exc.status in (401, 403) else 401,
                        exc.description) from None
    if valid.user is not None:
        raise ScimError(403, "SCIM is for service clients (client credentials).")
    return valid.client


def _scim_token_client(token: str):
    found = find_live_scim_token(db.session, token, g.request_context.now)
    if found is None:
        raise ScimError(401, "The SCIM token is unknown, expired or revoked.")
    client, marked = found
    if marked:
        db.session.commit()  # last_used_at, at most every few minutes
    return client


def caller() -> Caller:
    return request.environ[CALLER_KEY]


def payload() -> dict:
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ScimError(400, "Send a JSON object (application/scim+json).", "invalidSyntax")
    return data


# --- discovery (RFC 7644 4) -------------------------------------------------------------

@bp.get("/ServiceProviderConfig")
def service_provider_config():
    docs = settings().issuer.rstrip("/") + "/docs/scim"
    return scim_response(discovery.service_provider_config(base_url(), docs))


@bp.get("/ResourceTypes")
def resource_types():
    return scim_response(listing.whole_list(discovery.resource_types(base_url())))


@bp.get("/ResourceTypes/<name>")
def resource_type(name):
    return scim_response(_one(discovery.resource_types(base_url()), name))


@bp.get("/Schemas")
def schemas():
    return scim_response(listing.whole_list(discovery.schemas(base_url())))


@bp.get("/Schemas/<schema_id>")
def schema(schema_id):
    return scim_response(_one(discovery.schemas(base_url()), schema_id))


def _one(items: list[dict], key: str) -> dict:
    for item in items:
        if item["id"] == key:
            return item
    raise ScimError(404, "Resource not found.")


# --- Users ------------------------------------------------------------------------------

@bp.get("/Users")
def list_users():
    return scim_response(listing.list_users(db.session, caller(), base_url(), request.args))


@bp.post("/Users/.search")
def search_users():
    return scim_response(listing.list_users(db.session, caller(), base_url(),
                                            listing.search_args(payload())))


@bp.post("/Users")
def create_user():
    resource = protocol.validate_resource(protocol.UserModel, payload())
    who = caller()
    tenant = listing.own_tenant(db.session, who)
    user = scim_users.create(db.session, g.scim_ctx, who, tenant, resource)
    db.session.commit()
    document = listing.user_document(db.session, user, base_url())
    return _resource(protocol.UserModel, document, 201)


@bp.get("/Users/<user_id>")
def get_user(user_id):
    user = scim_users.load_live(db.session, caller(), user_id, "users:read")
    return _resource(protocol.UserModel, listing.user_document(db.session, user, base_url()))


@bp.route("/Users/<user_id>", methods=["PUT", "PATCH"])
def change_user(user_id):
    who = caller()
    # users:write for the profile, users:disable for `active`: checked on what changes
    user = scim_users.load_live(db.session, who, user_id, "users:read")
    current = listing.user_document(db.session, user, base_url())
    _check_version(current)
    if request.method == "PUT":
        resource = protocol.validate_resource(protocol.UserModel, payload())
    else:
        resource = protocol.UserModel.model_validate(current)
        protocol.apply_patch(protocol.UserModel, resource, payload())
    scim_users.update(db.session, g.scim_ctx, who, user, resource)
    db.session.commit()
    return _resource(protocol.UserModel, listing.user_document(db.session, user, base_url()))


@bp.delete("/Users/<user_id>")
def delete_user(user_id):
    who = caller()
    user = scim_users.load_live(db.session, who, user_id, "users:read")
    _check_version(listing.user_document(db.session, user, base_url()))
    scim_users.deprovision(db.session, g.scim_ctx, who, user_id,
                           listing.own_tenant(db.session, who),
                           services().keyring.derive("audit-pseudonyms"))
    db.session.commit()
    return current_app.response_class(status=204)


# --- Groups -----------------------------------------------------------------------------

@bp.get("/Groups")
def list_groups():
    return scim_response(listing.list_groups(db.session, caller(), base_url(), request.args))


@bp.post("/Groups/.search")
def search_groups():
    return scim_response(listing.list_groups(db.session, caller(), base_url(),
                                             listing.search_args(payload())))


@bp.post("/Groups")
def create_group():
    resource = protocol.validate_resource(protocol.GroupModel, payload())
    who = caller()
    group = scim_groups.create(db.session, g.scim_ctx, who,
                               listing.own_tenant(db.session, who), resource)
    db.session.commit()
    return _resource(protocol.GroupModel, listing.group_document(db.session, who, group, base_url()),
                     201)


@bp.get("/Groups/<group_id>")
def get_group(group_id):
    who = caller()
    group = scim_groups.load(db.session, who, group_id, "users:read")
    return _resource(protocol.GroupModel, listing.group_document(db.session, who, group, base_url()))


@bp.route("/Groups/<group_id>", methods=["PUT", "PATCH"])
def change_group(group_id):
    who = caller()
    group = scim_groups.load(db.session, who, group_id, "roles:write")
    current = listing.group_document(db.session, who, group, base_url())
    _check_version(current)
    if request.method == "PUT":
        resource = protocol.validate_resource(protocol.GroupModel, payload())
    else:
        resource = protocol.GroupModel.model_validate(current)
        protocol.apply_patch(protocol.GroupModel, resource, payload())
    scim_groups.update(db.session, g.scim_ctx, who, group, resource)
    db.session.commit()
    return _resource(protocol.GroupModel, listing.group_document(db.session, who, group, base_url()))


@bp.delete("/Groups/<group_id>")
def delete_group(group_id):
    who = caller()
    group = scim_groups.load(db.session, who, group_id, "roles:write")
    _check_version(listing.group_document(db.session, who, group, base_url()))
    scim_groups.delete(db.session, g.scim_ctx, who, group_id)
    db.session.commit()
    return current_app.response_class(status=204)


READ_ONLY = {"ServiceProviderConfig", "ResourceTypes", "Schemas"}


@bp.post("/.search")
def search_everything():
    """RFC 7644 3.4.3: searching several resource types at once is optional; not here."""
    raise ScimError(501, "Search /Users/.search or /Groups/.search.")


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(anything):
    """404 in SCIM's shape; 405 for a write to a discovery endpoint (RFC 7644 4)."""
    if anything.split("/", 1)[0] in READ_ONLY and request.method != "GET":
        raise ScimError(405, "This endpoint only answers GET.")
    raise ScimError(404, "No such endpoint.")


def _check_version(current: dict) -> None:
    """RFC 7644 3.14: If-Match must name the current version (412 otherwise)."""
    wanted = request.headers.get("If-Match")
    if wanted and wanted.strip() != "*" and current["meta"]["version"] not in {
            v.strip() for v in wanted.split(",")}:
        raise ScimError(412, "The resource changed since that version.")


def _resource(model, document: dict, status: int = 200):
    params = protocol.response_parameters(model, request.args.get("attributes"),
                                 request.args.get("excludedAttributes"))
    headers = {"ETag": document["meta"]["version"]}
    if status == 201:
        headers["Location"] = document["meta"]["location"]
    return scim_response(protocol.render(model, document, params), status, headers)
