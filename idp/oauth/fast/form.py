"""Reading a small urlencoded POST straight from the WSGI environ, for the fast paths.

Conservative on purpose: whatever is not a plain, small form with known, non-empty,
non-repeated parameters and HTTP Basic client credentials is reported as None, and the
caller hands the request to Flask (which parses it the full way).
"""

from __future__ import annotations

import io
import json
import time
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749.util import extract_basic_authorization

from idp.input_limits import has_nul
from idp.metrics import LATENCY, REQUESTS
from idp.security_headers import REQUEST_ID_HEADER, request_id, security_headers

MAX_BODY = 4096
# What http.no_store adds to a JSON answer of the full path; http's hook adds the rest.
JSON_NO_STORE = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
]


def is_basic_form_post(environ, path: str) -> bool:
    # A query string goes to the full path, which refuses parameters there (RFC 6749 3.2);
    # so does a DPoP proof (RFC 9449), checked on the full path only.
    return (environ.get("PATH_INFO") == path and environ.get("REQUEST_METHOD") == "POST"
            and bool(environ.get("HTTP_AUTHORIZATION")) and not environ.get("QUERY_STRING")
            and "HTTP_DPOP" not in environ)


def read_form_body(environ) -> bytes | None:
    """The urlencoded body if it is small and has a declared length; else None (untouched)."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= MAX_BODY:
        return None
    return environ["wsgi.input"].read(length)


def restore_body(environ, body: bytes) -> None:
    """Put the body back for Flask, which reads it again unchanged."""
    environ["wsgi.input"] = io.BytesIO(body)


def form_params(body: bytes, allowed: set[str]) -> dict[str, str] | None:
    """Known, non-empty, non-repeated parameters only; None for anything else."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
                          max_num_fields=len(allowed))
    except (UnicodeDecodeError, ValueError):
        return None
    params = dict(pairs)
    if len(params) != len(pairs) or not params.keys() <= allowed or not all(params.values()):
        return None
    if any(has_nul(k, v) for k, v in pairs):
        return None  # the full path refuses it (http.refuse_nul_bytes)
    return params


def basic_credentials(environ) -> tuple[str, str] | None:
    """client_id and secret from HTTP Basic (RFC 6749 2.3.1), both non-empty; else None."""
    client_id, secret = extract_basic_authorization({"Authorization": environ["HTTP_AUTHORIZATION"]})
    if not client_id or not secret or has_nul(client_id, secret):
        return None
    return client_id, secret


def send_json(environ, start_response, headers: list, payload: dict, endpoint: str,
              started: float) -> list[bytes]:
    """A 200 JSON answer, counted in the request metrics under the route's name."""
    body = json.dumps(payload).encode()
    start_response("200 OK", [*headers, ("Content-Length", str(len(body))),
                              (REQUEST_ID_HEADER, request_id(environ.get("HTTP_X_REQUEST_ID")))])
    requests, latency = _metrics(endpoint)
    requests.inc()
    latency.observe(time.perf_counter() - started)
    return [body]


_METRICS: dict[str, tuple] = {}


def _metrics(endpoint: str) -> tuple:
    """The request counter and latency histogram of a fast 200 answer, looked up once
    (`labels()` takes a lock and builds a key on every call)."""
    found = _METRICS.get(endpoint)
    if found is None:
        found = _METRICS[endpoint] = (REQUESTS.labels(endpoint, "POST", "200"),
                                      LATENCY.labels(endpoint))
    return found


def json_headers(config) -> list:
    """The headers of a fast no-store JSON answer, as the full path sends them."""
    return [*JSON_NO_STORE, *security_headers(config.issuer_is_https)]
