"""What must hold after any fault: no half-written state, audit equals what happened."""

from __future__ import annotations

import base64
import json
import sqlite3


def jti_of(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def check_after_fault(dep, acknowledged_logins: int = 0, acknowledged_tokens=(),
                      attempted_logins: int | None = None) -> dict:
    """Assert the invariants on a stopped deployment's SQLite database; return counts."""
    path = sqlite_path(dep.database_url)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        # A code is either untouched (unused, no family) or fully exchanged (used + family).
        assert one("SELECT count(*) FROM authorization_codes "
                   "WHERE used_at IS NULL AND grant_id IS NOT NULL") == 0
        assert one("SELECT count(*) FROM authorization_codes "
                   "WHERE used_at IS NOT NULL AND grant_id IS NULL") == 0
        jtis = {r[0] for r in conn.execute("SELECT jti FROM access_tokens")}
        audited = [json.loads(r[0])["jti"] for r in conn.execute(
            "SELECT details FROM audit_events WHERE type = 'oauth.token.issued'")]
        # No token without its audit event, and no audit event without its token.
        assert sorted(audited) == sorted(jtis)
        for token in acknowledged_tokens:
            assert jti_of(token) in jtis, "an acknowledged token was lost"
        sessions = one("SELECT count(*) FROM user_sessions")
        logins = one("SELECT count(*) FROM audit_events "
                     "WHERE type = 'auth.login' AND outcome = 'success'")
        assert sessions == logins, (sessions, logins)
        assert logins >= acknowledged_logins
        if attempted_logins is not None:
            assert logins <= attempted_logins
        families = one("SELECT count(*) FROM token_grants")
        assert families == one("SELECT count(*) FROM authorization_codes WHERE grant_id IS NOT NULL")
    finally:
        conn.close()
    _verify_audit_chain(dep)
    return {"tokens": len(jtis), "logins": logins, "sessions": sessions}


def _verify_audit_chain(dep) -> None:
    """What `idp audit verify` checks: every hash and every link of the chain."""
    from idp import create_app
    from idp.audit.verify import verify_chain
    from idp.extensions import db

    app = create_app({"database_url": dep.database_url, "keys_dir": str(dep.workdir / "keys"),
                      "issuer": dep.env["IDP_ISSUER"], "testing": True})
    with app.app_context():
        report = verify_chain(db.session)
        db.session.remove()
        db.engine.dispose()
    assert report.ok, report
