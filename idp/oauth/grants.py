"""Authlib grant classes with thin hooks that delegate to `idp.oauth.token_service`."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from authlib.oidc.core.grants.util import is_openid_scope

from idp.extensions import db
from idp.oauth import client_credentials, token_service
from idp.oauth.constants import CLIENT_AUTH_METHODS, CONFIDENTIAL_AUTH_METHODS
from idp.oauth.tokens import new_opaque_token


class S256CodeChallenge(CodeChallenge):
    """PKCE (RFC 7636) with S256 only; public clients must use it (RFC 9700 2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if data.get("code_challenge") and not data.get("code_challenge_method"):
            # RFC 7636 4.3 would default to "plain", which we do not support.
            raise InvalidRequestError("'code_challenge_method' must be 'S256'.")
        if grant.request.client.is_public and not data.get("code_challenge"):
            raise InvalidRequestError("Public clients must use PKCE ('code_challenge').")
        return super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)
    AUTHORIZATION_CODE_LENGTH = 43

    @staticmethod
    def validate_authorization_redirect_uri(request, client):
        """RFC 6749 3.1.2.4: an unregistered redirect URI is shown, never followed."""
        uri = request.payload.redirect_uri
        if uri and not client.check_redirect_uri(uri):
            # Authlib's own error quotes the URI, and a `"` or CR LF in it makes building
            # that error raise (a 500): name the parameter, not its value.
            raise InvalidRequestError("The 'redirect_uri' is not registered for this client.")
        return grants.AuthorizationCodeGrant.validate_authorization_redirect_uri(request, client)

    def generate_authorization_code(self):
        return new_opaque_token()

    def save_authorization_code(self, code, request):
        token_service.save_authorization_code(db.session, self.request.ctx, code, request,
                                              self.server.config.authorization_code_ttl)

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
        return token_service.query_refresh_token(db.session, self.request.ctx, refresh_token)

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
