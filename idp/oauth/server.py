"""The Authlib authorization server: every grant, extension and endpoint registered here."""

from __future__ import annotations

from datetime import UTC, datetime

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidClientError
from flask import g

from idp.audit import EventType, record
from idp.config import Config
from idp.extensions import db
from idp.keyring import Keyring
from idp.models.oauth import AccessToken, Client
from idp.oauth import claims, grants
from idp.oauth.client_auth import SECRET_MISMATCH, PrivateKeyJWT, make_secret_basic, make_secret_post
from idp.oauth.client_cache import ClientCache
from idp.oauth.dpop_http import dpop_key, token_binding, token_type
from idp.oauth.endpoints import DeviceAuthorization, EndSession, Introspection, Revocation
from idp.oauth.jwks_fetch import JWKSFetcher
from idp.oauth.signing_keys import KeyCache
from idp.oauth.token_service import TokenSubject, create_refresh_token
from idp.oauth.tokens import TokenSigner
from idp.oauth.usage import UsageRecorder
from idp.outbound import OutboundPolicy
from idp.request_context import RequestContext


class IdpAuthorizationServer(AuthorizationServer):
    def __init__(self, config: Config, keyring: Keyring, keys: KeyCache):
        super().__init__()
        self.config = config
        self.keyring = keyring
        self.keys = keys
        self.signer = TokenSigner(config.issuer, keys)
        self.jwks_fetcher = JWKSFetcher(OutboundPolicy.from_entries(config.outbound_allow))
        self.usage = UsageRecorder()
        self.clients = ClientCache(keys.session_factory)

    # --- context --------------------------------------------------------------
    def ctx(self) -> RequestContext:
        return g.request_context

    def now(self):
        return self.ctx().now

    def create_oauth2_request(self, request):
        # A stored (resumed) authorization request is used as it is.
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)

    def id_token_hint_claims(self, hint: str) -> dict:
        """Claims of an ID token we issued (expiry ignored); InvalidRequestError otherwise."""
        return self._endpoints["end_session"][0]._validate_id_token_hint(hint)

    def query_client(self, client_id):
        if not isinstance(client_id, str) or len(client_id) > 64:
            return None
        client = self.clients.get(client_id)
        return client if client is not None and client.is_usable else None

    def save_token(self, token, request):
        """Grants store what they issue themselves."""

    def authenticate_client(self, request, methods, endpoint="token"):
        try:
            return super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as error:
            attempted = request.payload.client_id or _basic_client_id(request)
            record(db.session, self.ctx(), EventType.CLIENT_AUTH_FAILED, outcome="failure",
                   client_id=(attempted or "")[:64] or None, details={"endpoint": endpoint})
            client = self.query_client(attempted) if attempted else None
            if client is not None:
                error.description = describe_auth_failure(client, request, error.description)
            raise

    # --- issuing ----------------------------------------------------------------
    def issue_user_tokens(self, client: Client, subject: TokenSubject, scope: str,
                          include_refresh_token: bool) -> dict:
        """Access token (JWT, stored by jti for revocation) and a rotated refresh token."""
        cfg, user, grant = self.config, subject.user, subject.grant
        # No `sid`: resource servers follow revocation through the grant (jti row), and
        # every claim costs bytes in caches keyed by the token (issue 18).
        extra = {"auth_time": int(grant.auth_time.timestamp()),
                 **claims.token_identity_claims(user, scope)}
        extra.update(token_binding())
        if grant.acr:
            extra["acr"] = grant.acr
        if grant.amr:
            extra["amr"] = list(grant.amr)
        issued = self.signer.access_token(
            client_id=client.id, subject=str(user.id), audience=client.id, scope=scope,
            ttl=cfg.access_token_ttl, alg=client.access_token_alg, extra=extra)
        db.session.add(AccessToken(jti=issued.jti, grant_id=grant.id,
                                   expires_at=datetime.fromtimestamp(issued.expires_at, UTC)))
        token = {"access_token": issued.token, "token_type": token_type(),
                 "expires_in": issued.expires_in, "scope": scope}
        if include_refresh_token and client.check_grant_type("refresh_token"):
            # RFC 9449 5: a public client's refresh token is bound to its DPoP key.
            bound = dpop_key() if client.is_public else None
            token["refresh_token"] = create_refresh_token(
                db.session, grant, scope, cfg.refresh_token_ttl, self.now(), dpop_jkt=bound)
        # In the same transaction as the token row: no token without its audit event.
        record(db.session, self.ctx(), EventType.TOKEN_ISSUED, subject_id=user.id,
               tenant_id=user.tenant_id, client_id=client.id,
               details={"jti": issued.jti, "grant_id": str(grant.id),
                        "refresh_token": "refresh_token" in token})
        db.session.flush()
        return token

    def issue_id_token(self, client: Client, subject: TokenSubject, token: dict) -> str:
        grant = subject.grant
        return self.signer.id_token(
            client_id=client.id, subject=str(subject.user.id), ttl=self.config.id_token_ttl,
            alg=client.id_token_signed_response_alg,
            auth_time=int(grant.auth_time.timestamp()), nonce=subject.nonce,
            amr=list(grant.amr or []), acr=grant.acr, access_token=token.get("access_token"),
            sid=str(grant.session_id) if grant.session_id else None,
            claims=claims.id_token_claims(subject.user, token.get("scope", "")),
        )

    def issue_client_token(self, client: Client, scope: str | None, audience,
                           ip: str | None) -> dict:
        """Client credentials: a stateless JWT whose subject is the client itself."""
        scope = scope or " ".join(client.scopes)
        extra = {"tenant": str(client.tenant_id)}
        if client.roles:
            extra["roles"] = list(client.roles)
        extra.update(token_binding())
        issued = self.signer.access_token(
            client_id=client.id, subject=client.id, audience=audience, scope=scope,
            ttl=self.config.access_token_ttl, alg=client.access_token_alg, extra=extra)
        self.usage.note_token(client.id, ip)
        return {"access_token": issued.token, "token_type": token_type(),
                "expires_in": issued.expires_in, "scope": scope}


def _presented_method(request) -> str:
    form = request.form
    if form.get("client_assertion"):
        return "private_key_jwt"
    if _basic_client_id(request):
        return "client_secret_basic"
    return "client_secret_post" if form.get("client_secret") else "none"


def describe_auth_failure(client: Client, request, description: str | None) -> str:
    """Name the one method the client is registered for, and what it sent instead."""
    registered, sent = client.token_endpoint_auth_method, _presented_method(request)
    if sent == registered:
        # Authlib's generic text lists every method the server knows; a specific reason
        # (expired assertion, replayed jti) is kept.
        generic = (not description or description == SECRET_MISMATCH
                   or description.startswith("The client cannot authenticate"))
        if not generic:
            return description
        return f"Client authentication failed ({registered})."
    return (f"Client authentication failed: the client is registered for '{registered}' "
            f"but used '{sent}'.")


def _basic_client_id(request) -> str | None:
    from authlib.oauth2.rfc6749.util import extract_basic_authorization

    client_id, _ = extract_basic_authorization(request.headers)
    return client_id


def build_server(app, config: Config, keyring: Keyring, keys: KeyCache) -> IdpAuthorizationServer:
    """Create the server and register grants, client auth methods and endpoints."""
    server = IdpAuthorizationServer(config, keyring, keys)
    server.init_app(app)
    server.register_client_auth_method("client_secret_basic", make_secret_basic(server))
    server.register_client_auth_method("client_secret_post", make_secret_post(server))
    server.register_client_auth_method("private_key_jwt", PrivateKeyJWT(server))
    server.register_grant(grants.AuthorizationCodeGrant,
                          [grants.S256CodeChallenge(required=True), grants.IdpOpenIDCode()])
    server.register_grant(grants.RefreshTokenGrant)
    server.register_grant(grants.ClientCredentialsGrant)
    server.register_grant(grants.DeviceCodeGrant)
    server.register_grant(grants.TokenExchangeGrant)
    server.register_endpoint(Introspection)
    server.register_endpoint(Revocation)
    server.register_endpoint(EndSession)
    server.register_endpoint(DeviceAuthorization)
    return server
