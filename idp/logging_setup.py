"""Structured logs: one JSON object per line on stderr, secrets redacted.

Every request produces one `idp.request` line (request id, method, path without its
query string, status, duration, client IP). A filter on the handler rewrites anything
that looks like a bearer token, a JWT, a client secret (`idp_sk_`) or a refresh token
(`idp_rt_`) before it is written, whoever logged it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime

from flask import Flask, request

from idp.http import environ_client_ip

REDACTED = "[redacted]"
_SECRET_PATTERNS = [
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),  # JWS / JWT
    re.compile(r"\bidp_(sk|rt)_[A-Za-z0-9_-]+"),
    re.compile(r"(?i)\b(code|code_verifier|refresh_token|access_token|id_token|client_secret|"
               r"password|token)=[^&\s\"']+"),
]
# Every pattern above needs one of these; text without any is left as it is (one scan
# instead of four substitutions, for the request line of every request).
_MAYBE_SECRET = re.compile(r"(?i)bearer|basic|eyJ|idp_|=")
# LogRecord attributes that are not caller-supplied extras.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_MARKER = "_idp_json_handler"

request_log = logging.getLogger("idp.request")


def redact(text: str) -> str:
    """`text` with anything secret-looking replaced."""
    if not _MAYBE_SECRET.search(text):
        return text
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_replacement, text)
    return text


def _replacement(match: re.Match) -> str:
    whole = match.group(0)
    for sep in ("=", " ", "\t"):
        if sep in whole and not whole.startswith(("eyJ", "idp_")):
            return whole.split(sep, 1)[0] + sep + REDACTED
    return REDACTED


def _scrub(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Resolve the message once and strip secrets from it and from the extras."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, _scrub(value))
        return True


class JsonFormatter(logging.Formatter):
    """One compact JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        body = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value
        if record.exc_info:
            body["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(body, default=str, separators=(",", ":"))


def json_handler(stream=None) -> logging.Handler:
    """A stderr (or `stream`) handler writing redacted JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    setattr(handler, _MARKER, True)
    return handler


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Route the root logger (and gunicorn's) to one JSON handler; idempotent."""
    root = logging.getLogger()
    root.handlers = [json_handler(stream)]  # stderr carries JSON lines only
    root.setLevel(level.upper())
    for name in ("gunicorn.error", "gunicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = name != "gunicorn.access"


# --- the request line ---------------------------------------------------------------------

class RequestLog:
    """WSGI middleware: one `idp.request` line per request, whoever answered it.

    Outermost, so the in-memory fast paths, Flask and its error handlers are all covered.
    """

    def __init__(self, app, trusted_proxies: int):
        self.app = app
        self.hops = trusted_proxies

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        seen: dict = {}

        def _start_response(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            seen["request_id"] = next((v for k, v in headers if k.lower() == "x-request-id"), "")
            seen["ms"] = round((time.perf_counter() - started) * 1000, 2)
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, _start_response)
        finally:
            self._log(environ, seen)

    def _log(self, environ, seen: dict) -> None:
        request_log.info("request", extra={
            "request_id": seen.get("request_id", ""),
            "method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("idp.log_path") or environ.get("PATH_INFO", ""),
            "status": seen.get("status", 500),
            "duration_ms": seen.get("ms"),
            "client_ip": environ_client_ip(environ, self.hops),
            **_rejected_forwarded_for(environ),
        })


def _rejected_forwarded_for(environ) -> dict:
    rejected = environ.get("idp.forwarded_for_rejected")
    return {"forwarded_for_rejected": rejected} if rejected is not None else {}


def _note_loggable_path() -> None:
    # Never the query string (codes, tokens) — PATH_INFO has none; a token in the path
    # itself (/password/reset/<token>) is logged as its route pattern.
    rule = request.url_rule
    if rule is not None and any("token" in arg for arg in rule.arguments):
        request.environ["idp.log_path"] = rule.rule


def install(app: Flask, trusted_proxies: int = 0) -> None:
    """Emit one `idp.request` log line per request."""
    app.before_request(_note_loggable_path)
    app.wsgi_app = RequestLog(app.wsgi_app, trusted_proxies)
