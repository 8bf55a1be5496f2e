"""Bulk import at scale: N people (default 100,000) from a CSV into a private PostgreSQL
database, through the import job (what the console and the API run) or the CLI's path.

    python bench/import_bench.py [--rows 100000] [--path job|cli]
        [--url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--keep]

Target (issue 17): 100,000 rows in under 2 minutes on PostgreSQL. Every row carries the
same bcrypt hash (one hash computed, not 100,000), as a migration from another provider
would; every tenth row has no password (an invitation would be due), one in a thousand is
a bad address (reported as that row's error). The database is created, then dropped.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_SECONDS = 120


def make_csv(rows: int, hashed: str) -> str:
    """The documented import format: email, username, password_hash, roles, profile."""
    lines = ["email,username,password_hash,roles,name,department"]
    for i in range(rows):
        email = f"bench{i}@example.com" if i % 1000 != 999 else f"broken-{i}"
        password = "" if i % 10 == 9 else hashed
        lines.append(f"{email},bench{i},{password},member,Person {i},Dept {i % 37}")
    return "\n".join(lines) + "\n"


def run(app, csv_text: str, path: str) -> dict:
    """Import `csv_text` as the operator; the counts of the report or the job."""
    from idp.accounts.bulk import read_csv
    from idp.accounts.bulk_import import import_users
    from idp.accounts.import_jobs import create_job, run_job
    from idp.extensions import db
    from idp.rbac.authorization import Caller
    from idp.request_context import system_context
    from idp.tenancy.tenants import query_tenant

    with app.app_context():
        session = db.session
        tenant = query_tenant(session, None)
        if path == "cli":
            report = import_users(session, system_context(), tenant, read_csv(csv_text))
            session.commit()
            return report.summary()
        caller = Caller.operator()
        job = create_job(session, caller, tenant, csv_text, dry_run=False)
        session.commit()
        run_job(session, system_context(), caller, job, session.commit)
        return {"status": job.status, "processed": job.processed, **job.counts}


def watch_statements(app) -> dict:
    """Seconds spent per statement kind and table (the first two words that name it)."""
    from sqlalchemy import event

    from idp.extensions import db

    timings: dict = {}
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        kind = words[0] + (" many" if executemany else "")
        table = next((w for w, prev in zip(words[1:], words[:-1], strict=True)
                      if prev in {"INTO", "UPDATE", "FROM"}), "")
        n, spent = timings.get((kind, table), (0, 0.0))
        timings[(kind, table)] = (n + 1, spent + time.perf_counter() - conn.info["bench_started"])

    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--path", choices=["job", "cli"], default="job")
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--sql", action="store_true", help="print time per SQL statement kind")
    args = parser.parse_args()

    import bcrypt

    from idp import create_app
    from idp.bootstrap import bootstrap
    from idp.extensions import db
    from idp.models.accounts import User

    hashed = bcrypt.hashpw(b"Imported-Pass-1!", bcrypt.gensalt(rounds=4)).decode()
    csv_text = make_csv(args.rows, hashed)
    name = f"idp_import_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as keys:
            app = create_app({"database_url": url, "keys_dir": keys, "issuer": "http://localhost",
                              "bootstrap_admin_password": "Bench-Operator-7!"})
            with app.app_context():
                db.create_all()
                svc = app.extensions["idp"]
                bootstrap(db.session, svc.config, svc.keyring)
                db.session.commit()
            if args.sql:
                timings = watch_statements(app)
            started = time.perf_counter()
            counts = run(app, csv_text, args.path)
            seconds = time.perf_counter() - started
            with app.app_context():
                people = db.session.execute(select(func.count()).select_from(User)).scalar_one()
                db.session.remove()
                db.engine.dispose()
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    if args.sql:
        for (kind, table), (n, spent) in sorted(timings.items(), key=lambda i: -i[1][1])[:12]:
            print(f"  {spent:7.2f} s {n:6d} x {kind} {table}")
    verdict = "PASS" if seconds < TARGET_SECONDS else "FAIL"
    print(f"path={args.path} rows={args.rows} seconds={seconds:.1f} "
          f"rows/s={args.rows / seconds:.0f} people_in_db={people} counts={counts} "
          f"target<{TARGET_SECONDS}s {verdict}")


if __name__ == "__main__":
    main()
