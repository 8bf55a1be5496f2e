"""Discovery and JWKS served straight from memory, in front of Flask.

These documents change only when keys rotate, and relying parties and resource servers
fetch them often; answering them before Flask's request machinery roughly halves their
cost. Everything else goes to the Flask app unchanged.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from idp.oauth.keys.signing import JWKS_MAX_AGE
from idp.security_headers import REQUEST_ID_HEADER, request_id, security_headers

CACHED_JSON = [
    ("Content-Type", "application/json"),
    ("Cache-Control", f"public, max-age={JWKS_MAX_AGE}"),
    ("Access-Control-Allow-Origin", "*"),
]
METADATA_PATHS = {"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"}
JWKS_PATH = "/jwks.json"


class FastPaths:
    def __init__(self, app, services, metadata, on_request=None):
        self.app = app
        self.services = services
        self.metadata = metadata  # () -> bytes: the current discovery document
        self.on_request = on_request  # optional hook(path, status) for metrics
        self.headers = [*CACHED_JSON, *security_headers(services.config.issuer_is_https)]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD") or (path not in METADATA_PATHS and path != JWKS_PATH):
            return self.app(environ, start_response)
        if path == JWKS_PATH:
            try:
                snap = self.services.keys.snapshot()
            except SQLAlchemyError:
                # The database is away: let Flask answer it (503 JSON, never a traceback).
                return self.app(environ, start_response)
            body, etag = snap.jwks_json, snap.etag
        else:
            body, etag = self.metadata(), None
        headers = [*self.headers,
                   (REQUEST_ID_HEADER, request_id(environ.get("HTTP_X_REQUEST_ID")))]
        if etag:
            headers.append(("ETag", etag))
            if etag in environ.get("HTTP_IF_NONE_MATCH", ""):
                return self._send(start_response, "304 Not Modified", headers, b"", path, 304)
        headers.append(("Content-Length", str(len(body))))
        return self._send(start_response, "200 OK", headers,
                          b"" if method == "HEAD" else body, path, 200)

    def _send(self, start_response, status, headers, body, path, code):
        start_response(status, headers)
        if self.on_request is not None:
            self.on_request(path, code)
        return [body]
