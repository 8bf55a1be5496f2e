"""Response headers every answer carries, and the request id: one source for the Flask
hook (`idp.http`) and the WSGI fast paths, so the two cannot send different headers."""

from __future__ import annotations

import secrets

REQUEST_ID_HEADER = "X-Request-ID"
BASE = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def security_headers(https: bool, csp_nonce: str | None = None) -> list[tuple[str, str]]:
    """The security headers of a response; with `csp_nonce`, those of an HTML page."""
    headers = list(BASE)
    if csp_nonce is not None:
        headers.append((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            f"script-src 'self' 'nonce-{csp_nonce}'; frame-ancestors 'none'; base-uri 'none'; "
            "object-src 'none'"))
        headers.append(("Cache-Control", "no-store"))
    if https:
        headers.append(HSTS)
    return headers


def request_id(given: str | None) -> str:
    """The caller's X-Request-ID if it is short and plain, else a fresh random id."""
    if given and len(given) <= 64 and all(c.isalnum() or c in "-_." for c in given):
        return given
    return secrets.token_hex(8)
