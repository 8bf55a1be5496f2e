"""Per-IP rate limits for the hosted pages and /token, with an audited, clear 429.

Counters live in Redis when IDP_REDIS_URL is set (shared by every worker and instance),
else in process memory. When Redis fails, each call falls back to a per-process
in-memory counter (PerCallFallback), and Redis is re-tried after a short back-off:
limiting never silently stops and a Redis failure is never a 500; at worst each process
counts on its own (docs/deployment.md, "When Redis fails"). Flask-Limiter's own fallback
is not enough: it switches only on the first error, so requests already waiting on
Redis when it dies re-raise.

Use these decorators on any view (the MFA page too):

    @failed_attempts_limit(login_limit, event=EventType.MFA)   # counts 401 answers only
    @request_limit(self_service_limit, event=EventType.PASSWORD_RESET_REQUESTED)
"""

from __future__ import annotations

import logging
import time
from functools import wraps

from flask import Flask, current_app, g, render_template, request
from limits import parse as parse_limit
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, RateLimiter

from idp.audit import EventType, Outcome, record
from idp.extensions import db, limiter
from idp.http import (
    client_ip,
    oauth_json_error,
    request_context,
    services,
    settings,
    wants_json,
)
from idp.rejection_audit import audit_rejection
from idp.request_context import RequestContext

log = logging.getLogger("idp.rate_limits")

PROTOCOL_PATHS = ("/token", "/introspect", "/revoke", "/userinfo")
TOKEN_FAILURE_LIMIT = "30 per minute"
STORE_RETRY = 5.0  # seconds the /token limiter counts in process after a store failure


def login_limit() -> str:
    """IDP_LOGIN_RATE_LIMIT: failed logins per client IP."""
    return settings().login_rate_limit


def self_service_limit() -> str:
    """IDP_SELF_SERVICE_RATE_LIMIT: /password/forgot and /register submissions per IP."""
    return settings().self_service_rate_limit


def _failed(response) -> bool:
    # Fail closed: an answer we could not complete (a storage error rolled the attempt's
    # audit and failure count back) still counts, so a guess is never uncounted.
    # A login refused because every hash slot was busy evaluated no guess: not counted.
    if g.get("hashing_busy"):
        return False
    return response.status_code == 401 or response.status_code >= 500


def failed_attempts_limit(limit_value, *, event: EventType = EventType.LOGIN,
                          scope: str = "failed-login"):
    """Limit POSTs per IP, deducting only failures (401, 5xx); one bucket for every view that
    shares `scope`, so failed passwords and failed MFA codes count together."""
    return limiter.shared_limit(limit_value, scope, methods=["POST"], deduct_when=_failed,
                                on_breach=_auditor(event))


def request_limit(limit_value, *, event: EventType):
    """Limit every POST per IP."""
    return limiter.limit(limit_value, methods=["POST"], on_breach=_auditor(event))


def scim_limit() -> str:
    """IDP_SCIM_RATE_LIMIT: /scim/v2 requests per service client."""
    return settings().scim_rate_limit


def unknown_login_paused(tenant_id, login: str, threshold: int, window: int) -> bool:
    """Count one failed sign-in for a name with no account (in the shared store, over the
    lockout window); True once it reached the lockout threshold, so the page answers as
    for a locked account after the same number of failures (no enumeration)."""
    if threshold <= 0:
        return False
    item = parse_limit(f"{threshold} per {max(1, window)} second")
    key = (settings().redis_prefix, "unknown-login", str(tenant_id), login.strip().casefold())
    strategy = limiter.limiter
    strategy.hit(item, *key)
    return strategy.get_window_stats(item, *key).remaining <= 0


def client_request_limit(limit_value: str, scope: str, ctx: RequestContext, client_id: str,
                         tenant_id=None) -> int | None:
    """Count one request of an authenticated client against `limit_value` (in the shared
    store: every worker and instance counts together). None while within it, else the
    seconds until the client may send again. The first refusal of a window is audited
    (`http.rate_limited`, the client as actor); the refusals after it are not, so a
    flood is not a flood of writes."""
    item = parse_limit(limit_value)
    key = (settings().redis_prefix, scope, client_id)
    strategy = limiter.limiter
    if strategy.hit(item, *key):
        return None
    reset = float(strategy.get_window_stats(item, *key).reset_time)
    retry = max(1, int(reset - time.time()) + 1)
    refused = services().extra.setdefault("client_limit_refused", {})
    if refused.get(key, 0.0) <= time.time():
        if len(refused) > 10_000:
            refused.clear()
        refused[key] = reset
        record(db.session, ctx, EventType.RATE_LIMITED, outcome=Outcome.RATE_LIMITED,
               client_id=client_id, tenant_id=tenant_id,
               details={"path": request.path, "limit": limit_value})
        db.session.commit()
    return retry


def token_limit():
    """/token: per IP, counting failed client authentication (401) only.

    Successful requests are not counted. Before a request is evaluated the shared window
    is read, so an IP whose allowance another worker or instance used up is refused here
    too: the limit holds across processes, not per process. An IP seen over its allowance
    is also remembered in this process until its window resets, so its next requests get
    429 without a store round trip (and the fast path hands them over).
    """
    item = parse_limit(TOKEN_FAILURE_LIMIT)

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            ip = client_ip()
            blocked = _blocked_ips()
            entry = blocked.get(ip)
            if entry is None and not _token_allowance_left(item, ip):
                entry = _remember_blocked(blocked, item, ip)
            if entry is not None and entry[0] > time.time():
                # Audited once per blocked window: a flood of refused requests must not
                # turn into a flood of database writes.
                first = not entry[1]
                entry[1] = True
                return _token_refused(int(entry[0] - time.time()) + 1, audit=first)
            response = view(*args, **kwargs)
            if response.status_code == 401 and not _count_token_failure(item, ip):
                _remember_blocked(blocked, item, ip)
            return response

        return limiter.exempt(wrapper)

    return decorator


def _blocked_ips() -> dict[str, list]:
    """IPs over their /token allowance, with when it resets (per app and process)."""
    return services().extra.setdefault("token_blocked_ips", {})


def _remember_blocked(blocked: dict, item, ip: str) -> list:
    if len(blocked) > 10_000:
        now = time.time()
        for key in [k for k, (until, _) in blocked.items() if until <= now]:
            blocked.pop(key, None)
    entry = blocked[ip] = [_window_reset(item, ip), False]
    return entry


def _strategies():
    # The shared store first; this process's own counter if the store fails (bounded
    # fallback: limiting never stops, it only stops being shared). After a failure the
    # store is left alone for STORE_RETRY seconds, so an outage does not add a socket
    # timeout to every /token request.
    extra = services().extra
    local = extra.get("token_local_limiter")
    if local is None:
        local = extra["token_local_limiter"] = MovingWindowRateLimiter(MemoryStorage())
    if extra.get("token_store_down_until", 0.0) > time.time():
        return (local,)
    return (limiter.limiter, local)


def _store_failed(strategy, what: str) -> None:
    if strategy is not limiter.limiter:
        return
    services().extra["token_store_down_until"] = time.time() + STORE_RETRY
    log.warning("rate-limit store failed %s; using this process's counter", what)


def _token_key(ip: str) -> tuple[str, str, str]:
    # IDP_REDIS_PREFIX first, as in Flask-Limiter's own keys: two deployments sharing a
    # Redis never count (or block) each other's clients.
    return (settings().redis_prefix, "token-failures", ip)


def _token_allowance_left(item, ip: str) -> bool:
    """False when the window already holds the whole allowance of failures."""
    for strategy in _strategies():
        try:
            return strategy.test(item, *_token_key(ip))
        except Exception:  # noqa: BLE001 - any storage error: use the next strategy
            _store_failed(strategy, "reading /token failures")
    return True


def _count_token_failure(item, ip: str) -> bool:
    """Count one failure; False once the allowance is used up."""
    for strategy in _strategies():
        try:
            strategy.hit(item, *_token_key(ip))
            return strategy.test(item, *_token_key(ip))
        except Exception:  # noqa: BLE001 - any storage error: use the next strategy
            _store_failed(strategy, "counting /token failures")
    return True


def _window_reset(item, ip: str) -> float:
    for strategy in _strategies():
        try:
            return float(strategy.get_window_stats(item, *_token_key(ip)).reset_time)
        except Exception:  # noqa: BLE001 - any storage error: use the next strategy
            _store_failed(strategy, "reading the /token window")
    return time.time() + 60


def _token_refused(retry: int, *, audit: bool):
    if audit:
        record(db.session, request_context(), EventType.CLIENT_AUTH_FAILED,
               outcome=Outcome.RATE_LIMITED, client_id=_attempted_client_id(),
               details={"path": request.path, "limit": TOKEN_FAILURE_LIMIT})
        db.session.commit()
    response = oauth_json_error(429, "temporarily_unavailable",
                                f"Too many attempts. Try again in {retry} seconds.")
    response.headers["Retry-After"] = str(retry)
    return response


def _attempted_client_id() -> str | None:
    if request.authorization and request.authorization.username:
        return request.authorization.username[:64]
    return (request.form.get("client_id") or "")[:64] or None


def _auditor(event: EventType):
    def on_breach(request_limit) -> None:
        # Aggregated per IP and window: a flood of refused requests is not a write flood.
        audit_rejection(event, Outcome.RATE_LIMITED,
                        username=(request.form.get("username") or request.form.get("email")
                                  or "")[:320] or None,
                        client_id=_attempted_client_id()
                        if event == EventType.CLIENT_AUTH_FAILED else None,
                        details={"path": request.path, "limit": str(request_limit.limit)})

    return on_breach


def _retry_after() -> int:
    current = limiter.current_limit
    if current is None:
        return 60

    return max(1, int(current.reset_at - time.time()))


def too_many_requests(exc):
    """429 with Retry-After: RFC 6749 JSON on protocol endpoints, else JSON or a page."""
    retry = _retry_after()
    if request.path.startswith(PROTOCOL_PATHS):
        response = oauth_json_error(429, "temporarily_unavailable",
                                    f"Too many attempts. Try again in {retry} seconds.")
    elif wants_json():
        from idp.http import json_error

        response = json_error(429, "rate_limited", f"Too many requests. Try again in {retry} "
                              "seconds.", retry_after=retry)
    else:
        response = current_app.make_response((render_template(
            "web/rate_limited.html", retry_after=retry, minutes=max(1, (retry + 59) // 60)), 429))
    response.headers["Retry-After"] = str(retry)
    return response


class PerCallFallback(RateLimiter):
    """The shared store's strategy, with this process's memory taking over any call the
    store fails; after a failure the store is skipped for RETRY_AFTER seconds so a hung
    Redis costs one socket timeout, not one per call."""

    RETRY_AFTER = 2.0

    def __init__(self, primary: RateLimiter, local: RateLimiter):
        super().__init__(primary.storage)
        self.primary, self.local = primary, local
        self._skip_until = 0.0

    def _call(self, name: str, *args, **kwargs):
        if time.monotonic() >= self._skip_until:
            try:
                return getattr(self.primary, name)(*args, **kwargs)
            except Exception:  # noqa: BLE001 - any storage error: count in this process
                self._skip_until = time.monotonic() + self.RETRY_AFTER
                log.warning("rate-limit store failed; counting in process")
        return getattr(self.local, name)(*args, **kwargs)

    def hit(self, item, *identifiers, cost: int = 1) -> bool:
        return self._call("hit", item, *identifiers, cost=cost)

    def test(self, item, *identifiers, cost: int = 1) -> bool:
        return self._call("test", item, *identifiers, cost=cost)

    def get_window_stats(self, item, *identifiers):
        return self._call("get_window_stats", item, *identifiers)

    def clear(self, item, *identifiers) -> None:
        return self._call("clear", item, *identifiers)


def install(app: Flask) -> None:
    """Answer 429 with our own page / JSON (registered once by the account blueprint), and
    fall back per call when the shared store fails."""
    app.register_error_handler(429, too_many_requests)
    primary = limiter._limiter  # noqa: SLF001 - Flask-Limiter has no hook for this
    if primary is not None and not isinstance(primary, PerCallFallback):
        limiter._limiter = PerCallFallback(  # noqa: SLF001
            primary, type(primary)(MemoryStorage()))
