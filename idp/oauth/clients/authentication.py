"""Client authentication at the token, introspection and revocation endpoints.

client_secret_basic / client_secret_post compare an HMAC of the secret in constant time;
private_key_jwt (RFC 7523 2.2, OIDC Core 9) verifies an assertion signed with the
client's registered key, refuses a reused `jti`, and accepts only our issuer (or the
token endpoint URL, as OIDC Core 9 asks) as audience: a string, or an array that
contains one of them (RFC 7523 3; openid-client <= 5.6 sends [issuer, token endpoint]).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError

from idp.extensions import db
from idp.models.oauth import Client, UsedAssertion
from idp.oauth.clients.secrets import match_client_secret
from idp.oauth.keys.client_jwks import JWKSFetchError

MAX_ASSERTION_LIFETIME = 300
SECRET_MISMATCH = "Client authentication failed."


def authenticate_secret(server, client_id: str, secret: str, now) -> Client | None:
    """The usable client whose live secret this is (usage noted), else None."""
    client = server.query_client(client_id)
    if client is None:
        return None
    row = match_client_secret(server.keyring.client_secret_key, client, secret, now)
    if row is None:
        return None
    server.usage.note_secret_use(client.id, row.id)
    return client


def _secret_method(server, client_id, secret, status, now):
    if not client_id or not secret:
        return None
    client = authenticate_secret(server, client_id, secret, now)
    if client is None:
        raise InvalidClientError(status_code=status, description=SECRET_MISMATCH)
    return client


def make_secret_basic(server):
    def authenticate_client_secret_basic(query_client, request):
        client_id, secret = extract_basic_authorization(request.headers)
        return _secret_method(server, client_id, secret, 401, request.ctx.now)

    return authenticate_client_secret_basic


def make_secret_post(server):
    def authenticate_client_secret_post(query_client, request):
        form = request.form
        return _secret_method(server, form.get("client_id"), form.get("client_secret"), 400,
                              request.ctx.now)

    return authenticate_client_secret_post


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server):
        super().__init__(validate_jti=True, leeway=30)
        self.server = server

    def get_audiences(self):
        issuer = self.server.config.issuer
        return [issuer, issuer + "/token"]

    def verify_claims(self, claims):
        super().verify_claims(claims)
        if claims["exp"] - time.time() > MAX_ASSERTION_LIFETIME:
            raise InvalidClientError(description="Assertion 'exp' is too far in the future.")
        client = self.server.query_client(claims.get("sub"))
        if client is not None and client.is_fapi2 and claims.get("aud") != self.server.config.issuer:
            # FAPI 2.0 5.3.2.1: only our issuer identifier, as a string.
            raise InvalidClientError(description="A FAPI 2.0 client's assertion names the "
                                                 "issuer as 'aud', a string.")

    def validate_jti(self, claims, jti):
        expires = datetime.fromtimestamp(int(claims["exp"]) + 60, UTC)
        try:
            with db.session.begin_nested():
                db.session.add(UsedAssertion(client_id=claims["sub"], jti=str(jti)[:255],
                                             expires_at=expires))
        except IntegrityError:
            return False
        return True

    def resolve_client_public_key(self, client):
        if client.jwks:
            return KeySet.import_key_set(client.jwks)
        if client.jwks_uri:
            try:
                return self.server.jwks_fetcher.get(client.jwks_uri)
            except JWKSFetchError as exc:
                raise InvalidClientError(description=str(exc)) from None
        raise InvalidClientError(description="The client has no registered keys.")
