"""RFC 7591 registration endpoint and RFC 7592 client configuration endpoint (thin: the
rules live in `idp.oauth.clients.registration`; the view commits once)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from idp.audit import EventType
from idp.extensions import csrf, db
from idp.http import no_store, oauth_json_error, services
from idp.oauth.clients import registration
from idp.oauth.clients.initial_access_tokens import query_live_token
from idp.oauth.clients.registration import REGISTRATION_PATH, RegistrationError
from idp.rate_limits import request_limit

bp = Blueprint("registration", __name__)
# Registration writes rows: a few per address and minute are plenty for a real client.
REGISTRATION_LIMIT = "30 per minute"


def _bearer() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _invalid_token(description: str):
    # RFC 6750 3.1, as RFC 7591 3 and RFC 7592 2 ask for a token that is not valid.
    response = oauth_json_error(401, "invalid_token", description)
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _metadata():
    """The JSON body; None (refused as invalid_client_metadata) when it is not JSON."""
    if not request.is_json:
        raise RegistrationError("invalid_client_metadata",
                                "Send the client metadata as application/json.")
    return request.get_json(silent=True)


def _refused(exc: RegistrationError, **where):
    db.session.rollback()
    registration.record_refusal(db.session, g.request_context, exc.error, **where)
    db.session.commit()
    if exc.error == "invalid_token":
        return _invalid_token(exc.description)
    return oauth_json_error(400, exc.error, exc.description)


def _client_uri(client_id: str) -> str:
    return f"{services().config.issuer}{REGISTRATION_PATH}/{client_id}"


@bp.post(REGISTRATION_PATH)
@csrf.exempt
@no_store
@request_limit(REGISTRATION_LIMIT, event=EventType.RATE_LIMITED)
def register_client():
    """RFC 7591 3.1: only with an initial access token (3: the endpoint is not open)."""
    svc, ctx, token = services(), g.request_context, _bearer()
    row = query_live_token(db.session, token, ctx.now) if token else None
    if row is None:
        return _refused(RegistrationError(
            "invalid_token", "A valid initial access token is required to register."))
    tenant_id = row.tenant_id
    try:
        done = registration.register(db.session, ctx, svc.keyring, row, _metadata(),
                                     svc.outbound_policy)
    except RegistrationError as exc:
        return _refused(exc, tenant_id=tenant_id)
    db.session.commit()
    svc.registration.invalidate()  # its last use may have closed registration
    return jsonify(registration.client_information(
        done.client, _client_uri(done.client.id), done)), 201


def _registered(client_id: str):
    found = registration.query_registration(db.session, client_id, _bearer())
    if found is None:
        # RFC 7592 2: wrong token, another client's token, or no such client: all 401.
        raise RegistrationError("invalid_token",
                                "The registration access token is not valid for this client.")
    return found


@bp.route(f"{REGISTRATION_PATH}/<client_id>", methods=["GET", "PUT", "DELETE"])
@csrf.exempt
@no_store
def manage_client(client_id):
    """RFC 7592 2.1 read, 2.2 update, 2.3 delete, with the registration access token."""
    svc = services()
    try:
        client, row = _registered(client_id)
    except RegistrationError as exc:
        return _refused(exc)
    ctx = registration.management_context(g.request_context, client.id)
    tenant_id = client.tenant_id
    if request.method == "DELETE":
        registration.remove(db.session, ctx, client)
        db.session.commit()
        return "", 204
    if request.method == "PUT":
        try:
            registration.update(db.session, ctx, svc.keyring, client, row, _metadata(),
                                svc.outbound_policy)
        except RegistrationError as exc:
            return _refused(exc, tenant_id=tenant_id, client_id=client_id)
        db.session.commit()
    return jsonify(registration.client_information(client, _client_uri(client.id)))
