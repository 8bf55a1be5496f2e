"""Client-credentials token requests answered ahead of Flask when everything checks out.

Services ask /token in their own request path (issue 6), and there the full Flask +
Authlib + rate-limiter path cost more than twice the JWT signature itself. A request
that is plainly a well-formed client-credentials request with HTTP Basic authentication
is decided here, with the same functions the Authlib grant calls (client cache, HMAC
secret match, scope and resource allowance, TokenSigner, usage recorder).

Only success is answered here. Anything else — an error of any kind, another grant or
authentication method, an unexpected parameter, an IP the token limiter has blocked, a
usage flush that is due, a database hiccup — goes to Flask with the body put back, so
every error response, 429 and audit event still comes from the one full path.
"""

from __future__ import annotations

import time

from authlib.oauth2.rfc6749.errors import OAuth2Error
from sqlalchemy.exc import SQLAlchemyError

from idp.http import environ_client_ip
from idp.metrics import TOKENS
from idp.models.base import utcnow
from idp.oauth.clients import credentials as client_credentials
from idp.oauth.clients.authentication import authenticate_secret
from idp.oauth.fast import form as fast_form
from idp.oauth.tokens.request import token_request_problem

GRANT = client_credentials.GRANT_TYPE
AUTH_METHOD = "client_secret_basic"
PARAMS = {"grant_type", "scope", "resource"}


class ClientCredentialsFastPath:
    def __init__(self, app, services):
        self.app = app
        self.services = services
        self.hops = services.config.trusted_proxies
        self.headers = fast_form.json_headers(services.config)
        self.issued = TOKENS.labels(GRANT)

    def __call__(self, environ, start_response):
        if not fast_form.is_basic_form_post(environ, "/token"):
            return self.app(environ, start_response)
        started = time.perf_counter()
        body = fast_form.read_form_body(environ)
        if body is None:
            return self.app(environ, start_response)
        token = self._issue(environ, body)
        if token is None:
            fast_form.restore_body(environ, body)
            return self.app(environ, start_response)
        self.issued.inc()
        return fast_form.send_json(environ, start_response, self.headers, token,
                                   "oauth.token", started)

    def _issue(self, environ, body: bytes) -> dict | None:
        """The token response, or None when the full path must decide."""
        params = fast_form.form_params(body, PARAMS)
        if params is None or params.get("grant_type") != GRANT:
            return None
        if token_request_problem(environ.get("QUERY_STRING", ""), list(params.items()), True):
            return None  # the full path answers the same decision with its 400
        ip = environ_client_ip(environ, self.hops)
        blocked = self.services.extra.get("token_blocked_ips", {}).get(ip)
        if blocked is not None and blocked[0] > time.time():
            return None  # the full path answers 429
        server = self.services.server
        if server.usage.due():
            return None  # the full path flushes usage counts to the database
        credentials = fast_form.basic_credentials(environ)
        if credentials is None:
            return None
        try:
            return self._decide(server, *credentials, params, ip)
        except (OAuth2Error, SQLAlchemyError):
            return None

    def _decide(self, server, client_id, secret, params, ip) -> dict | None:
        # The same checks, in the same order, as Authlib's ClientCredentialsGrant with
        # our overrides (grants.ClientCredentialsGrant, client_auth._secret_method).
        client = server.query_client(client_id)
        if client is None or not client.check_endpoint_auth_method(AUTH_METHOD, "token"):
            return None
        if authenticate_secret(server, client_id, secret, utcnow()) is None:
            return None
        scope = params.get("scope")
        resources = [params["resource"]] if "resource" in params else []
        audience = client_credentials.check(client, scope, resources, server.config.issuer)
        return server.tokens.client_token(client, scope, audience, ip)
