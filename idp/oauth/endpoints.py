"""Introspection (RFC 7662), revocation (RFC 7009) and RP-initiated logout endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, UnauthorizedClientError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import g
from sqlalchemy import select

from idp.audit import EventType, record
from idp.extensions import db
from idp.models.base import utcnow
from idp.models.oauth import RefreshToken, RevokedToken
from idp.oauth.clients.credentials import may_introspect
from idp.oauth.constants import CLIENT_AUTH_METHODS, CONFIDENTIAL_AUTH_METHODS, DEVICE_CODE_GRANT
from idp.oauth.dpop.edge import dpop_key
from idp.oauth.dpop.proofs import InvalidDPoPProofError
from idp.oauth.keys.signing import public_key_set, query_logout_hint_keys
from idp.oauth.tokens.device_flow import INTERVAL, start_device_authorization
from idp.oauth.tokens.jwt import hash_token
from idp.oauth.tokens.service import revoke_grant
from idp.oauth.tokens.validation import ValidAccessToken, check_token_state, decode_access_token


class _Found:
    """What a presented token turned out to be, in the shape Authlib's endpoints expect."""

    def __init__(self, kind: str, client_id: str, *, access: ValidAccessToken | None = None,
                 refresh: RefreshToken | None = None, claims: dict | None = None,
                 active: bool = True):
        self.kind, self.client_id, self.access, self.refresh = kind, client_id, access, refresh
        self.claims = claims or {}
        self.active = active

    def check_client(self, client) -> bool:
        return client.id == self.client_id

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return not self.active

    def bound_key(self) -> str | None:
        """The DPoP key thumbprint the token is bound to (RFC 9449 6), if any."""
        if self.refresh is not None:
            return self.refresh.dpop_jkt
        return (self.claims.get("cnf") or {}).get("jkt")


def _find_token(server, value: str, hint: str | None, now: datetime) -> _Found | None:
    if hint != "refresh_token":
        claims = decode_access_token(server.keys, server.config.issuer, value)
        if claims is not None:
            valid = check_token_state(db.session, claims, server.clients)
            return _Found("access_token", claims.get("client_id", ""), access=valid,
                          claims=claims, active=valid is not None)
    row = db.session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(value))
    ).scalar_one_or_none()
    if row is None:
        return None
    active = (row.revoked_at is None and row.rotated_at is None and row.expires_at > now
              and row.grant.revoked_at is None)
    return _Found("refresh_token", row.grant.client_id, refresh=row, active=active)


def access_token_introspection(claims: dict, user) -> dict:
    """RFC 7662 answer for an active access token of ours (user None: a client's token)."""
    keep = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "tenant",
            "roles", "auth_time", "acr")
    payload = {k: claims[k] for k in keep if k in claims}
    payload.update(active=True, token_type="Bearer")
    if "cnf" in claims:  # RFC 9449 6.2: the resource server checks the proof key
        payload.update(cnf=claims["cnf"], token_type="DPoP")
    if user is not None:
        payload["username"] = user.username
    return payload


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)

    def authenticate_token(self, request, client):
        self.check_params(request, client)
        token = _find_token(self.server, request.form["token"],
                            request.form.get("token_type_hint"), request.ctx.now)
        if token and self.check_permission(token, client, request):
            return token
        return None

    def check_permission(self, token, client, request):
        return may_introspect(client, token.client_id, self.server.clients)

    def introspect_token(self, token):
        if token.kind == "refresh_token":
            row = token.refresh
            return {"active": True, "token_type": "refresh_token", "client_id": token.client_id,
                    "scope": row.scope, "sub": str(row.grant.user_id),
                    "exp": int(row.expires_at.timestamp()), "iat": int(row.created_at.timestamp())}
        return access_token_introspection(token.claims, token.access.user)


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)

    def authenticate_token(self, request, client):
        self.check_params(request, client)
        token = _find_token(self.server, request.form["token"],
                            request.form.get("token_type_hint"), request.ctx.now)
        if token and not token.check_client(client):
            raise InvalidGrantError()
        if token and client.is_public and token.bound_key() not in (None, dpop_key()):
            # RFC 9449 5: a public client's key-bound token answers to that key alone, as
            # at refresh; a confidential client is bound by its authentication.
            raise InvalidDPoPProofError(description="The token is bound to a DPoP key: "
                                                    "revoke it with a proof by that key.")
        return token

    def revoke_token(self, token, request):
        ctx = request.ctx
        if token.kind == "refresh_token":
            # Revoking a refresh token revokes its whole family (RFC 7009 2.1 "SHOULD").
            revoke_grant(db.session, token.refresh.grant_id, ctx, reason="revoked_by_client")
        elif db.session.get(RevokedToken, token.claims.get("jti")) is None:
            db.session.add(RevokedToken(jti=token.claims["jti"],
                                        expires_at=datetime.fromtimestamp(token.claims["exp"], UTC)))
        record(db.session, ctx, EventType.TOKEN_REVOKED, client_id=token.client_id,
               details={"token_type": token.kind})
        db.session.flush()


class DeviceAuthorization(DeviceAuthorizationEndpoint):
    """RFC 8628 3.1-3.2: a client asks for a device code and a user code."""

    CLIENT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)

    def create_endpoint_response(self, request):

        client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT):
            raise UnauthorizedClientError("The client may not use the device flow.")
        cfg = self.server.config
        scope = client.get_allowed_scope(request.payload.scope)
        device_code, user_code = start_device_authorization(
            db.session, request.ctx, client.id, scope, cfg.device_code_ttl)
        uri = f"{cfg.issuer}/device"
        return 200, {"device_code": device_code, "user_code": user_code,
                     "verification_uri": uri,
                     "verification_uri_complete": add_params_to_uri(uri, {"user_code": user_code}),
                     "expires_in": cfg.device_code_ttl, "interval": INTERVAL}, \
            [("Content-Type", "application/json"), ("Cache-Control", "no-store")]


class EndSession(EndSessionEndpoint):
    """RP-initiated logout 1.0; the view ends the browser session itself."""

    def get_server_jwks(self):
        # Not only the published keys: a session outlives the JWKS life of the key that
        # signed its ID token, and the person must still be able to sign out (section 2).

        now = utcnow()
        since = now - timedelta(seconds=self.server.config.session_absolute_timeout)
        return public_key_set(query_logout_hint_keys(db.session, now, since))

    def get_algorithms(self):
        return ["RS256", "ES256"]

    def _validate_id_token_hint(self, id_token_hint):
        claims = super()._validate_id_token_hint(id_token_hint)
        if claims.get("iss") != self.server.config.issuer:
            raise InvalidRequestError("'id_token_hint' was not issued by this provider.")
        return claims

    def is_post_logout_redirect_uri_legitimate(self, request, uri, client, logout_hint):
        # Without id_token_hint, a registered URI is followed only after the person
        # confirmed the logout on our page.
        return bool(g.get("logout_confirmed"))

    def end_session(self, end_session_request):
        """The view revokes the browser session; nothing to do at the protocol level."""
