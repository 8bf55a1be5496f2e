"""Authlib grant classes with thin hooks that delegate to `idp.oauth.tokens.service`."""

from __future__ import annotations

from authlib.oauth2 import rfc8628
from authlib.oauth2.rfc6749 import OAuth2Error, grants
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from authlib.oidc.core.grants.util import is_openid_scope

from idp.extensions import db
from idp.oauth import fapi
from idp.oauth.clients import credentials as client_credentials
from idp.oauth.constants import (
    CLIENT_AUTH_METHODS,
    CONFIDENTIAL_AUTH_METHODS,
    TOKEN_EXCHANGE_GRANT,
)
from idp.oauth.dpop.edge import dpop_key, token_binding
from idp.oauth.tokens import device_flow
from idp.oauth.tokens import exchange as token_exchange
from idp.oauth.tokens import service as token_service
from idp.oauth.tokens.issuance import lifetime
from idp.oauth.tokens.jwt import new_opaque_token


class S256CodeChallenge(CodeChallenge):
    """PKCE (RFC 7636) with S256 only; public clients must use it (RFC 9700 2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_verifier(self, grant, result):
        # A failed check spends the code: the right verifier afterwards gets invalid_grant,
        # so a stolen code cannot be guessed against online (RFC 9700 4.8.2).
        try:
            return super().validate_code_verifier(grant, result)
        except OAuth2Error:
            token_service.spend_authorization_code(db.session, grant.request.ctx,
                                                   grant.request.authorization_code)
            raise

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if data.get("code_challenge") and not data.get("code_challenge_method"):
            # RFC 7636 4.3 would default to "plain", which we do not support.
            raise InvalidRequestError("'code_challenge_method' must be 'S256'.")
        client = grant.request.client
        if client.is_public and not data.get("code_challenge"):
            raise InvalidRequestError("Public clients must use PKCE ('code_challenge').")
        if (client.is_fapi2 or client.require_pkce) and not data.get("code_challenge"):
            # RFC 9700 2.1.1; FAPI 2.0 5.3.2.2 for every client of the profile.
            raise InvalidRequestError("This client must use PKCE ('code_challenge').")
        return super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)
    AUTHORIZATION_CODE_LENGTH = 43

    @staticmethod
    def validate_authorization_redirect_uri(request, client):
        """RFC 6749 3.1.2.4: an unregistered redirect URI is shown, never followed."""
        uri = request.payload.redirect_uri
        # OIDC Core 3.1.2.1: redirect_uri is REQUIRED in an OpenID request; refused
        # without redirecting, as the URI to redirect to was not given.
        if is_openid_scope(request.payload.scope) and not uri:
            raise InvalidRequestError("'redirect_uri' is required in an OpenID request.")
        if uri and not client.check_redirect_uri(uri):
            # Authlib's own error quotes the URI, and a `"` or CR LF in it makes building
            # that error raise (a 500): name the parameter, not its value.
            raise InvalidRequestError("The 'redirect_uri' is not registered for this client.")
        return grants.AuthorizationCodeGrant.validate_authorization_redirect_uri(request, client)

    def generate_authorization_code(self):
        return new_opaque_token()

    def save_authorization_code(self, code, request):
        ttl = fapi.code_ttl(request.client, self.server.config.authorization_code_ttl)
        token_service.save_authorization_code(db.session, self.request.ctx, code, request, ttl)

    def query_authorization_code(self, code, client):
        return token_service.query_authorization_code(db.session, self.request.ctx, code, client)

    def authenticate_user(self, authorization_code):
        return token_service.consume_authorization_code(db.session, self.request.ctx,
                                                        authorization_code)

    def delete_authorization_code(self, authorization_code):
        """Used codes are kept (marked) until expiry, so a replay can be recognised."""

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        return self.server.tokens.user_tokens(db.session, self.request.ctx, self.request.client,
                                              user, scope, include_refresh_token)

    def save_token(self, token):
        """Tokens were stored while they were generated."""


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation on every use (RFC 9700 4.14.2)

    def authenticate_refresh_token(self, refresh_token):
        row = token_service.query_refresh_token(db.session, self.request.ctx, refresh_token)
        if row is not None and row.dpop_jkt and row.dpop_jkt != dpop_key():
            raise InvalidGrantError("The refresh token is bound to a DPoP key (RFC 9449 5).")
        return row

    def authenticate_user(self, refresh_token):
        return token_service.rotate_refresh_token(db.session, self.request.ctx, refresh_token)

    def revoke_old_credential(self, refresh_token):
        """Rotation already marked the old token used, atomically, in authenticate_user."""

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        tokens, client = self.server.tokens, self.request.client
        token = tokens.user_tokens(db.session, self.request.ctx, client, user, scope, True)
        if is_openid_scope(scope):
            token["id_token"] = tokens.id_token(client, user, token)
        return token

    def save_token(self, token):
        """Tokens were stored while they were generated."""


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)

    def validate_token_request(self):
        super().validate_token_request()
        payload = self.request.payload
        self.request.audience = client_credentials.check(
            self.request.client, payload.scope, payload.datalist.get("resource", []),
            self.server.config.issuer)

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=False):
        return self.server.tokens.client_token(self.request.client, scope,
                                               self.request.audience, self.request.ctx.ip)

    def save_token(self, token):
        """Client-credentials tokens are stateless JWTs; usage is counted in memory."""


class DeviceCodeGrant(rfc8628.DeviceCodeGrant):
    """RFC 8628 3.4-3.5; hooks delegate to `idp.oauth.tokens.device_flow`."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)

    def query_device_credential(self, device_code):
        row = device_flow.query_by_device_code(db.session, device_code)
        return device_flow.DeviceCredential(row, self.request.ctx.now) if row else None

    def validate_device_credential(self, credential):
        row, ctx = credential.row, self.request.ctx
        if credential.is_expired():
            raise rfc8628.ExpiredTokenError()
        if row.status == "denied":
            raise AccessDeniedError()
        if row.status != "pending":
            return device_flow.redeem(db.session, ctx, row)  # approved, once
        if device_flow.poll_too_fast(db.session, ctx, row):
            raise rfc8628.SlowDownError()
        raise rfc8628.AuthorizationPendingError()

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        token = self.server.tokens.user_tokens(db.session, self.request.ctx, self.request.client,
                                               user, scope, include_refresh_token)
        if is_openid_scope(scope):
            token["id_token"] = self.server.tokens.id_token(self.request.client, user, token)
        return token

    def save_token(self, token):
        """Tokens were stored while they were generated."""


class TokenExchangeGrant(grants.BaseGrant, grants.TokenEndpointMixin):
    """RFC 8693 2.1: confidential clients allowed the grant; hooks in token_exchange."""

    GRANT_TYPE = TOKEN_EXCHANGE_GRANT
    TOKEN_ENDPOINT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)

    def validate_token_request(self):

        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("The client may not exchange tokens.")
        self.request.client = client
        self.request.exchange = token_exchange.validate_exchange(
            db.session, self.request.ctx, self.server, client, self.request.payload.data)

    def create_token_response(self):
        server = self.server
        token = token_exchange.issue_exchanged_token(
            db.session, self.request.ctx, server.tokens.signer,
            lifetime(self.request.client, server.config, "access_token_ttl"),
            self.request.client, self.request.exchange, token_binding())
        return 200, token, self.TOKEN_RESPONSE_HEADER


class IdpOpenIDCode(OpenIDCode):
    """ID token for the code flow, signed by our TokenSigner."""

    def exists_nonce(self, nonce, request):
        # Nonces are echoed, not required to be unique across requests (Core 3.1.2.1).
        return False

    def process_token(self, grant, response):
        _, token, _ = response
        if is_openid_scope(token.get("scope")):
            subject = grant.request.user
            token["id_token"] = grant.server.tokens.id_token(grant.request.client, subject, token)
        return token

    def generate_user_info(self, user, scope):  # pragma: no cover - unused, see process_token
        raise NotImplementedError


__all__ = [
    "AuthorizationCodeGrant", "ClientCredentialsGrant", "IdpOpenIDCode", "InvalidGrantError",
    "RefreshTokenGrant", "S256CodeChallenge",
]
