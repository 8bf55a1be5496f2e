"""Audit log at scale: fill N events (default 1,000,000) into SQLite, time the filters.

    python bench/audit_bench.py [--events 1000000] [--db /tmp/audit-bench.db]

Target (issue 5): "all actions by user X last month" and the other API filters answer a
page in well under a second on a million events (the indexes in idp/models/audit.py).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

TYPES = ["auth.login", "auth.login", "auth.login", "auth.logout", "user.updated",
         "session.revoked", "oauth.token.revoked", "role.assigned", "user.disabled"]
OUTCOMES = ["success"] * 8 + ["invalid_password", "unknown_user"]


def fill(db, n: int, people: list[uuid.UUID], tenants: list[uuid.UUID], start: datetime) -> None:
    """Bulk load the way an operator would: indexes dropped, rows inserted with the raw
    driver in big batches, indexes rebuilt. What we measure is reading, not loading."""
    from sqlalchemy import Index

    from idp.models.audit import AuditEvent

    table = AuditEvent.__table__
    engine = db.get_bind()
    indexes = list(table.indexes)
    for index in indexes:
        index.drop(engine)
    raw = engine.raw_connection()
    cur = raw.cursor()
    cur.execute("PRAGMA synchronous=OFF")
    rnd = random.Random(7)
    step = timedelta(days=365) / n
    names = [f"user{i}" for i in range(len(people))]
    hexes = [p.hex for p in people]
    tenant_of = [tenants[i % len(tenants)].hex for i in range(len(people))]
    sql = ("INSERT INTO audit_events (at, type, outcome, actor_id, subject_id, tenant_id, "
           "username, ip, user_agent, details, pii_digest, prev_hash, hash) "
           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")
    batch = []
    base = start.replace(tzinfo=None)
    for i in range(n):
        k = rnd.randrange(len(people))
        batch.append((
            (base + step * i).isoformat(sep=" "), rnd.choice(TYPES), rnd.choice(OUTCOMES),
            str(people[rnd.randrange(50)]) if i % 4 == 0 else None, hexes[k], tenant_of[k],
            names[k], f"10.{i % 200}.{(i // 200) % 250}.{i % 97}", "bench", "{}", "",
            "0" * 64, "0" * 64))
        if len(batch) == 50_000:
            cur.executemany(sql, batch)
            batch.clear()
    if batch:
        cur.executemany(sql, batch)
    raw.commit()
    cur.execute("PRAGMA synchronous=FULL")
    raw.close()
    t0 = time.perf_counter()
    for index in indexes:
        Index.create(index, engine)
    print(f"indexes built in {time.perf_counter() - t0:.1f} s")


def timed(label: str, func, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        rows = func()
        runs.append(time.perf_counter() - t0)
    median = statistics.median(runs) * 1000
    print(f"{label:<58} {median:8.1f} ms  ({len(rows)} rows)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    db_path = args.db or str(folder / "audit.db")

    from sqlalchemy import text

    from idp import create_app
    from idp.audit.query import AuditFilter, query_events
    from idp.extensions import db

    app = create_app({"database_url": f"sqlite:///{db_path}", "keys_dir": str(folder / "keys"),
                      "testing": True})
    with app.app_context():
        db.create_all()
        people = [uuid.uuid4() for _ in range(5000)]
        tenants = [uuid.uuid4() for _ in range(5)]
        start = datetime(2025, 1, 1, tzinfo=UTC)
        t0 = time.perf_counter()
        fill(db.session, args.events, people, tenants, start)
        print(f"filled {args.events:,} events in {time.perf_counter() - t0:.1f} s ({db_path})")
        db.session.execute(text("ANALYZE"))  # planner statistics, as after any bulk load
        actor = str(people[3])
        month = (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
        s = db.session
        results = [
            timed("actions by user X last month (actor + since/until)", lambda: query_events(
                s, AuditFilter(actor=actor, since=month[0], until=month[1]), limit=50)[0]),
            timed("events about user X (subject)", lambda: query_events(
                s, AuditFilter(user=people[42]), limit=50)[0]),
            timed("failed logins in a tenant (type + outcome + tenant)", lambda: query_events(
                s, AuditFilter(type="auth.login", outcome="invalid_password",
                               tenant=tenants[1]), limit=50)[0]),
            timed("events from one IP", lambda: query_events(
                s, AuditFilter(ip="10.7.3.25"), limit=50)[0]),
            timed("one day, whole log (since/until)", lambda: query_events(
                s, AuditFilter(since=month[0], until=month[0] + timedelta(days=1)),
                limit=50)[0]),
            timed("newest page, no filter", lambda: query_events(s, AuditFilter(), limit=50)[0]),
            timed("deep page (cursor at the middle of the log)", lambda: query_events(
                s, AuditFilter(), before=(start + timedelta(days=182), args.events), limit=50)[0]),
        ]
        print(f"slowest filtered page: {max(results):.1f} ms")
    if not args.db:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
