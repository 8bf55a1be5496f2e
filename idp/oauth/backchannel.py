"""Back-Channel Logout 1.0 delivery: sign a logout token, POST it, retry, give up, audit.

Runs in a background thread per process, never in the request that ended the session:
a slow or dead relying party cannot hold up a logout (section 2.8 asks for no blocking
on the RP). Every post goes through `idp.outbound` (IDP_OUTBOUND_ALLOW, timeouts, no
redirects). A due row is claimed by one atomic UPDATE of its `next_attempt_at`, so
several workers never post the same token at once.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.models.base import utcnow
from idp.models.oauth import BackchannelLogout, Client
from idp.oauth.tokens.jwt import TokenSigner
from idp.outbound import OutboundPolicy, OutboundRefused, send
from idp.request_context import system_context

log = logging.getLogger("idp.backchannel")

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_TTL = 120  # seconds a logout token is valid (section 2.4: short-lived)
BACKOFF = (1, 2, 5, 15, 60)  # seconds before retries 1..5; then the delivery is abandoned
LEASE = 30  # seconds a claimed row is hidden from other workers while it is posted
SWEEP_INTERVAL = 30.0  # seconds between looks for rows queued outside a request (the CLI)
IDLE_EXIT = 5.0  # seconds without due work before the thread ends (a kick restarts it)


def logout_token(signer: TokenSigner, client: Client, row: BackchannelLogout) -> str:
    """Section 2.4: iss, aud, iat, exp, jti, sub, sid, events; never a nonce."""
    now = int(time.time())
    claims = {"iss": signer.issuer, "aud": client.id, "iat": now, "exp": now + TOKEN_TTL,
              "jti": secrets.token_urlsafe(16), "sub": str(row.user_id), "events": {EVENT: {}}}
    if row.session_id is not None:
        claims["sid"] = str(row.session_id)
    return signer.sign(claims, client.id_token_signed_response_alg, typ="logout+jwt")


def _claim(db: Session, row: BackchannelLogout, now) -> bool:
    claimed = db.execute(
        update(BackchannelLogout)
        .where(BackchannelLogout.id == row.id, BackchannelLogout.delivered_at.is_(None),
               BackchannelLogout.next_attempt_at == row.next_attempt_at)
        .values(next_attempt_at=now + timedelta(seconds=LEASE))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.commit()
    return claimed == 1


def _post(client: Client, token: str, policy: OutboundPolicy) -> str | None:
    """None when the RP answered 200 or 204 (section 2.8), else why not (for the log)."""
    try:
        response = send(client.backchannel_logout_uri, policy, method="POST",
                        body=urlencode({"logout_token": token}).encode(), max_bytes=4096,
                        headers={"Content-Type": "application/x-www-form-urlencoded",
                                 "Cache-Control": "no-store"})
    except OutboundRefused as exc:
        return exc.reason
    return None if response.status in (200, 204) else f"status {response.status}"


def _settle(db: Session, row: BackchannelLogout, client: Client | None, error: str | None,
            now) -> None:
    ctx = system_context()
    row.attempts += 1
    tenant = client.tenant_id if client else None
    if error is None:
        row.delivered_at = now
        record(db, ctx, EventType.BACKCHANNEL_LOGOUT_DELIVERED, subject_id=row.user_id,
               tenant_id=tenant, client_id=row.client_id, details={"count": row.attempts})
    elif row.attempts > len(BACKOFF) or client is None:
        row.abandoned_at, row.last_error = now, error[:200]
        log.warning("back-channel logout to %s abandoned: %s", row.client_id, error)
        record(db, ctx, EventType.BACKCHANNEL_LOGOUT_FAILED, outcome="failure",
               subject_id=row.user_id, tenant_id=tenant, client_id=row.client_id,
               details={"count": row.attempts})
    else:
        row.last_error = error[:200]
        row.next_attempt_at = now + timedelta(seconds=BACKOFF[row.attempts - 1])
    db.commit()


def deliver_due(db: Session, signer: TokenSigner, policy: OutboundPolicy,
                batch: int = 50) -> int:
    """Post every due logout token once; returns how many were attempted."""
    now = utcnow()
    rows = db.execute(
        select(BackchannelLogout)
        .where(BackchannelLogout.delivered_at.is_(None),
               BackchannelLogout.abandoned_at.is_(None),
               BackchannelLogout.next_attempt_at <= now)
        .order_by(BackchannelLogout.id).limit(batch)
    ).scalars().all()
    attempted = 0
    for row in rows:
        if not _claim(db, row, now):
            continue
        client = db.get(Client, row.client_id)
        if client is None or not client.backchannel_logout_uri:
            _settle(db, row, None, "client gone or no back-channel logout URI", utcnow())
            continue
        error = _post(client, logout_token(signer, client, row), policy)
        _settle(db, row, client, error, utcnow())
        attempted += 1
    return attempted


def next_due_in(db: Session) -> float | None:
    """Seconds until the next pending row is due (0 if overdue); None when none is pending."""
    at = db.execute(
        select(BackchannelLogout.next_attempt_at)
        .where(BackchannelLogout.delivered_at.is_(None), BackchannelLogout.abandoned_at.is_(None))
        .order_by(BackchannelLogout.next_attempt_at).limit(1)
    ).scalar_one_or_none()
    return None if at is None else max(0.0, (at - utcnow()).total_seconds())


class Deliverer:
    """The per-process delivery thread: started by a kick, ends after IDLE_EXIT idle seconds."""

    def __init__(self, session_factory, signer: TokenSigner, policy: OutboundPolicy):
        self._factory, self._signer, self._policy = session_factory, signer, policy
        self._wake, self._stop = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        """Deliver soon: wake the thread, or start it."""
        self._wake.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="idp-backchannel-logout")
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread (tests, and the gunicorn master before it forks)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _pass(self) -> float | None:
        try:
            with self._factory() as db:
                deliver_due(db, self._signer, self._policy)
                return next_due_in(db)
        except Exception:  # noqa: BLE001 - keep delivering after a database hiccup
            log.exception("back-channel logout delivery failed; retrying")
            return 1.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            wait = self._pass()
            if wait is not None:
                self._wake.wait(min(wait, 5.0))
                continue
            if self._wake.wait(IDLE_EXIT):
                continue
            with self._lock:
                if not self._wake.is_set():
                    self._thread = None  # a later kick starts a fresh thread
                    return
