"""Introspection of an active client-credentials token, answered ahead of Flask.

Resource servers that do not validate JWTs themselves introspect on every request, so
/introspect is as hot as /token. The common case — a caller authenticated with HTTP
Basic asking about a client-credentials access token that is active — is answered here
with the same functions the Authlib endpoint uses (client cache, HMAC secret match,
JWT verification, and the one exact revocation query, run on its own connection).

Everything else — user tokens, refresh tokens, inactive or unknown tokens, callers of
another tenant, errors, a usage flush that is due — goes to Flask unchanged.
"""

from __future__ import annotations

import time

from sqlalchemy.exc import SQLAlchemyError

from idp.models.base import utcnow
from idp.oauth.clients.authentication import authenticate_secret
from idp.oauth.clients.credentials import may_introspect
from idp.oauth.endpoints import access_token_introspection
from idp.oauth.fast import form as fast_form
from idp.oauth.tokens.validation import CLIENT_TOKEN_STATE, client_token_live, decode_access_token

AUTH_METHOD = "client_secret_basic"
PARAMS = {"token", "token_type_hint"}


class IntrospectionFastPath:
    def __init__(self, app, services):
        self.app = app
        self.services = services
        self.headers = fast_form.json_headers(services.config)

    def __call__(self, environ, start_response):
        if not fast_form.is_basic_form_post(environ, "/introspect"):
            return self.app(environ, start_response)
        started = time.perf_counter()
        body = fast_form.read_form_body(environ)
        if body is None:
            return self.app(environ, start_response)
        answer = self._introspect(environ, body)
        if answer is None:
            fast_form.restore_body(environ, body)
            return self.app(environ, start_response)
        return fast_form.send_json(environ, start_response, self.headers, answer,
                                   "oauth.introspect", started)

    def _introspect(self, environ, body: bytes) -> dict | None:
        """The answer for an active client token, or None when the full path must decide."""
        params = fast_form.form_params(body, PARAMS)
        if params is None or "token" not in params:
            return None
        if params.get("token_type_hint", "access_token") != "access_token":
            return None
        server = self.services.server
        credentials = fast_form.basic_credentials(environ)
        if credentials is None or server.usage.due():
            return None
        try:
            return self._decide(server, *credentials, params["token"])
        except SQLAlchemyError:
            return None

    def _decide(self, server, client_id, secret, value) -> dict | None:
        # As Introspection (endpoints.py): authenticate the caller, verify the token,
        # read its revocation state exactly, check the caller may see it.
        caller = server.query_client(client_id)
        if caller is None or not caller.check_endpoint_auth_method(AUTH_METHOD, "introspection"):
            return None
        if authenticate_secret(server, client_id, secret, utcnow()) is None:
            return None
        claims = decode_access_token(server.keys, server.config.issuer, value)
        if claims is None or claims.get("sub") != claims.get("client_id"):
            return None  # not ours, expired, or a user's token
        owner_id, jti = claims["client_id"], claims.get("jti")
        if not isinstance(owner_id, str) or not isinstance(jti, str):
            return None
        with self.services.engine.connect() as conn:
            state = conn.execute(CLIENT_TOKEN_STATE, {"client_id": owner_id, "jti": jti}).first()
        if not client_token_live(state):
            return None
        if not may_introspect(caller, owner_id, server.clients):
            return None
        return access_token_introspection(claims, None)
