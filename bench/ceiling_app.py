"""The "ceiling" for the client-credentials token endpoint.

A minimal Flask app under the same gunicorn settings as `idp serve`
(idp.server_runner.gunicorn_options: IDP_WORKERS workers, gthread, 4 threads, keep-alive)
whose only work per request is signing an RFC 9068 JWT access token comparable to ours
(same header and claim set, joserfc, RS256 2048-bit or ES256 P-256) and returning the
RFC 6749 5.1 JSON response. No client authentication, no database, no rate limiter: what
our /token reaches if everything except signing and HTTP were free.

    IDP_PORT=5901 IDP_WORKERS=2 python bench/ceiling_app.py
    POST /token/RS256   POST /token/ES256   GET /healthz
"""

from __future__ import annotations

import json
import os
import secrets
import time

from flask import Flask, Response
from gunicorn.app.base import BaseApplication
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from idp.config import load_config
from idp.server_runner import gunicorn_options

ISSUER = os.environ.get("IDP_ISSUER", "http://127.0.0.1:5000")
KEYS = {
    "RS256": RSAKey.generate_key(2048, private=True),
    "ES256": ECKey.generate_key("P-256", private=True),
}
KIDS = {alg: key.thumbprint() for alg, key in KEYS.items()}
CLIENT_ID = "ceiling-client-" + secrets.token_hex(8)
TENANT = "00000000-0000-4000-8000-000000000000"

app = Flask(__name__)


@app.post("/token/<alg>")
def token(alg: str):
    key = KEYS.get(alg)
    if key is None:
        return Response(status=404)
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": CLIENT_ID, "aud": CLIENT_ID, "client_id": CLIENT_ID,
              "scope": "api:read", "iat": now, "exp": now + 600,
              "jti": secrets.token_urlsafe(16), "tenant": TENANT}
    header = {"alg": alg, "kid": KIDS[alg], "typ": "at+jwt"}
    value = jwt.encode(header, claims, key, algorithms=[alg])
    body = json.dumps({"access_token": value, "token_type": "Bearer", "expires_in": 600,
                       "scope": "api:read"})
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


class CeilingGunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return app


if __name__ == "__main__":
    # Same options as `idp serve` (bind from IDP_HOST/IDP_PORT, IDP_WORKERS workers).
    CeilingGunicorn(gunicorn_options(load_config())).run()
