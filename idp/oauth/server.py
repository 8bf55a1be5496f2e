"""The Authlib authorization server: every grant, extension and endpoint registered here."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc6749.util import extract_basic_authorization

from idp.audit import EventType, record
from idp.config import Config
from idp.extensions import db
from idp.http import request_context
from idp.keyring import Keyring
from idp.models.oauth import Client
from idp.oauth import grants
from idp.oauth.clients.authentication import (
    SECRET_MISMATCH,
    PrivateKeyJWT,
    make_secret_basic,
    make_secret_post,
)
from idp.oauth.clients.cache import ClientCache
from idp.oauth.clients.usage import UsageRecorder
from idp.oauth.dpop.edge import check_client_proof
from idp.oauth.dpop.nonce import NonceSource
from idp.oauth.endpoints import DeviceAuthorization, EndSession, Introspection, Revocation
from idp.oauth.keys.client_jwks import JWKSFetcher
from idp.oauth.keys.signing import KeyCache
from idp.oauth.tokens.issuance import TokenIssuer
from idp.oauth.tokens.jwt import TokenSigner
from idp.outbound import OutboundPolicy


class IdpAuthorizationServer(AuthorizationServer):
    """A registry of grants, client authentication methods and endpoints; issuing is
    `TokenIssuer`'s, and every request carries its `RequestContext` (`request.ctx`)."""

    def __init__(self, config: Config, keyring: Keyring, keys: KeyCache):
        super().__init__()
        self.config = config
        self.keyring = keyring
        self.keys = keys
        self.jwks_fetcher = JWKSFetcher(OutboundPolicy.from_entries(config.outbound_allow))
        self.usage = UsageRecorder()
        self.tokens = TokenIssuer(config, TokenSigner(config.issuer, keys), self.usage)
        self.clients = ClientCache(keys.session_factory)
        # RFC 9449 8: every worker derives the same nonce key, so each accepts the others'.
        self.dpop_nonces = NonceSource(keyring.derive("dpop-nonce"))

    def create_oauth2_request(self, request):
        """Authlib's request, carrying this request's context for the grants and endpoints."""
        # A stored (resumed) authorization request is used as it is.
        if not isinstance(request, OAuth2Request):
            request = super().create_oauth2_request(request)
        request.ctx = request_context()
        return request

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
            client = super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as error:
            attempted = request.payload.client_id or _basic_client_id(request)
            record(db.session, request.ctx, EventType.CLIENT_AUTH_FAILED, outcome="failure",
                   client_id=(attempted or "")[:64] or None, details={"endpoint": endpoint})
            client = self.query_client(attempted) if attempted else None
            if client is not None:
                error.description = describe_auth_failure(client, request, error.description)
            raise
        # RFC 9449: the proof the view checked, now that we know whose request it is.
        check_client_proof(client, endpoint)
        return client


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
