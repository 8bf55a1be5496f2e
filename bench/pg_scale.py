"""Admin people search and audit filters at scale, on PostgreSQL (issue 20, target 5).

Creates a private database on the server, migrates it (to --revision, default head),
generates people and audit events with SQL (`generate_series`, not through the app:
a million sign-ups through the services would take hours), then times the app's own
queries: GET /api/v1/users?... and /api/v1/audit?... through the Flask test client with a
superadmin bearer token, and the console's people list (with its total count). Prints
p50/p95 per query and, with --explain, the plan of each query's SQL. The database is
dropped at the end unless --keep.

    python bench/pg_scale.py --people 1000000 --events 10000000
    python bench/pg_scale.py --people 100000 --events 1000000 --explain
    # before/after a migration on the same data: generate at the old revision, keep it,
    # then time again after upgrading:
    python bench/pg_scale.py --revision 0012_import_jobs --keep --db idp_scale
    python bench/pg_scale.py --reuse --upgrade --db idp_scale

Needs a PostgreSQL server (default postgresql://postgres@127.0.0.1:5432, trust) and
several GB of disk at 10M events (about 6 GB with the indexes).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

import psycopg
from bench_support import service_client

FIRST = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo", "Ida", "Jonas",
         "Karla", "Leon", "Mia", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sven", "Tina",
         "Ulla", "Victor", "Wilma", "Xaver", "Yara", "Zoe", "Amir", "Bea", "Carlos", "Dana",
         "Elif", "Farid", "Gita", "Hana", "Igor", "Jana", "Kenji", "Lina", "Mateo", "Nora"]
LAST = ["Smith", "Jones", "Miller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer",
        "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf",
        "Neumann", "Schwarz", "Zimmermann", "Braun", "Krueger", "Hofmann", "Hartmann",
        "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Schmid", "Dubois",
        "Martin", "Bernard", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau", "Garcia", "Lopez", "Gonzalez", "Rodriguez", "Fernandez", "Sanchez",
        "Perez", "Gomez", "Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira",
        "Tanaka", "Suzuki", "Takahashi", "Watanabe", "Ito", "Yamamoto", "Nakamura",
        "Kobayashi", "Kato", "Yoshida", "Yamada", "Sasaki", "Yamaguchi", "Matsumoto",
        "Inoue", "Kimura", "Hayashi", "Shimizu", "Nguyen", "Tran", "Le", "Pham", "Hoang",
        "Kowalski", "Nowak", "Wisniewski", "Wojcik", "Kaminski", "Lewandowski", "Novak",
        "Horvat", "Kovac", "Popescu", "Ionescu", "Petrov", "Ivanov", "Smirnov", "Popov",
        "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsen",
        "Hansen", "Jensen", "Nielsen", "Pedersen", "Virtanen", "Korhonen", "Murphy", "Kelly"]
TYPES = ["auth.login", "auth.login", "auth.login", "auth.logout", "oauth.token.issued",
         "oauth.token.issued", "user.updated", "auth.mfa", "admin.user.disabled",
         "session.revoked", "oauth.token.revoked", "user.created"]


def sql_array(items) -> str:
    return "ARRAY[" + ",".join("'" + i.replace("'", "''") + "'" for i in items) + "]"


def user_uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012x}"


def generate(conn, people: int, events: int) -> None:
    """People (10% in a second tenant, 2% disabled, ~1% locked, 0.5% erased, roles on a
    few) and audit events spread over the last year (20% in the second tenant)."""
    cur = conn.cursor()
    default = cur.execute("SELECT id FROM tenants WHERE slug = 'default'").fetchone()[0]
    cur.execute("INSERT INTO tenants (id, slug, name, settings, created_at) "
                "VALUES (gen_random_uuid(), 'scale-other', 'Other', '{}', now()) "
                "ON CONFLICT DO NOTHING")
    other = cur.execute("SELECT id FROM tenants WHERE slug = 'scale-other'").fetchone()[0]
    first, last = sql_array(FIRST), sql_array(LAST)
    t0 = time.time()
    cur.execute(f"""
        INSERT INTO users (id, tenant_id, username, username_normalized, email, email_normalized,
          email_verified, name, given_name, family_name, phone_number_verified, is_active,
          created_at, updated_at, last_login_at, failed_login_count, locked_at, locked_until,
          must_change_password, erased_at)
        SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid,
          CASE WHEN g %% 10 = 0 THEN %(other)s::uuid ELSE %(default)s::uuid END,
          'user' || g, 'user' || g,
          f || '.' || l || g || '@example' || (g %% 7) || '.com',
          lower(f || '.' || l || g || '@example' || (g %% 7) || '.com'),
          true, f || ' ' || l, f, l, false,
          g %% 50 <> 0 AND g %% 199 <> 0,
          now() - (%(people)s - g) * interval '90 seconds',
          now() - (%(people)s - g) * interval '60 seconds',
          CASE WHEN g %% 3 = 0 THEN NULL ELSE now() - (g %% 400) * interval '1 day' END,
          0,
          CASE WHEN g %% 97 = 0 THEN now() ELSE NULL END,
          CASE WHEN g %% 97 = 0 THEN now() + interval '1 day' ELSE NULL END,
          false,
          CASE WHEN g %% 199 = 0 THEN now() ELSE NULL END
        FROM generate_series(1, %(people)s) AS g,
          LATERAL (SELECT ({first})[1 + g %% {len(FIRST)}] AS f,
                          ({last})[1 + (g / {len(FIRST)}) %% {len(LAST)}] AS l) AS n
        """, {"people": people, "default": default, "other": other})  # noqa: S608
    for role, every in (("helpdesk", 100), ("auditor", 500), ("tenant_admin", 1000)):
        cur.execute("""
            INSERT INTO role_assignments (id, user_id, role_id, tenant_id, created_at)
            SELECT gen_random_uuid(), u.id, r.id, u.tenant_id, now()
            FROM users u, roles r
            WHERE r.name = %(role)s AND r.tenant_id IS NULL
              AND u.username LIKE 'user%%'
              AND substr(u.username, 5)::bigint %% %(every)s = 7
            """, {"role": role, "every": every})
    conn.commit()
    print(f"# {people} people in {time.time() - t0:.0f} s", flush=True)

    # Audit: indexes dropped during the load and rebuilt after (as audit_bench.py does).
    t0 = time.time()
    indexes = cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = "
                          "'audit_events' AND indexname <> 'pk_audit_events'").fetchall()
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    types = sql_array(TYPES)
    batch = 1_000_000
    for start in range(1, events + 1, batch):
        end = min(events, start + batch - 1)
        cur.execute(f"""
            INSERT INTO audit_events (at, type, outcome, actor_id, subject_id, tenant_id,
              client_id, username, ip, user_agent, request_id, details, pii_digest,
              prev_hash, hash)
            SELECT now() - (%(events)s - g) * interval '3 seconds',
              ({types})[1 + g %% {len(TYPES)}],
              CASE WHEN g %% 13 = 0 THEN 'failure' ELSE 'success' END,
              CASE WHEN g %% 20 = 0 THEN '00000000-0000-4000-8000-' || lpad(to_hex(1 + g %% 97), 12, '0')
                   ELSE NULL END,
              ('00000000-0000-4000-8000-' || lpad(to_hex(1 + (g * 7919) %% %(people)s), 12, '0'))::uuid,
              CASE WHEN g %% 5 = 0 THEN %(other)s::uuid ELSE %(default)s::uuid END,
              CASE WHEN g %% 4 = 0 THEN 'client-' || (g %% 50) ELSE NULL END,
              'user' || (1 + (g * 7919) %% %(people)s),
              '10.' || (g / 65536 %% 4) || '.' || (g / 256 %% 256) || '.' || (g %% 256),
              'Mozilla/5.0 (X11; Linux x86_64) bench', md5(g::text), '{{}}',
              md5((g + 1)::text) || md5((g + 2)::text),
              md5((g - 1)::text) || md5(g::text), md5(g::text) || md5((g + 3)::text)
            FROM generate_series(%(start)s::bigint, %(end)s::bigint) AS g
            """, {"events": events, "people": people, "default": default, "other": other,  # noqa: S608
                  "start": start, "end": end})
        conn.commit()
        print(f"#   {end} events ({time.time() - t0:.0f} s)", flush=True)
    for name, definition in indexes:
        t1 = time.time()
        cur.execute(definition)
        conn.commit()
        print(f"#   {name} rebuilt in {time.time() - t1:.0f} s", flush=True)
    conn.autocommit = True
    cur.execute("VACUUM ANALYZE users")
    cur.execute("VACUUM ANALYZE role_assignments")
    cur.execute("VACUUM ANALYZE audit_events")
    conn.autocommit = False
    print(f"# {events} events in {time.time() - t0:.0f} s", flush=True)


def queries(people: int) -> list[tuple[str, str]]:
    """(label, URL) of the timed requests: the filters an operator uses."""
    some = people // 3 + 17
    return [
        ("people: first page, no filter", "/api/v1/users"),
        ("people: email prefix (one person)", f"/api/v1/users?q=anna.smith{some // 10 * 10}"),
        ("people: email prefix (a few hundred)", "/api/v1/users?q=clara.weber1"),
        ("people: name contains (common, 1/100)", "/api/v1/users?q=schmidt"),
        ("people: name contains (rare)", "/api/v1/users?q=kowalski"),
        ("people: name contains (no match)", "/api/v1/users?q=zzyzx"),
        ("people: username (one person)", f"/api/v1/users?q=user{some}"),
        ("people: status=disabled", "/api/v1/users?status=disabled"),
        ("people: status=locked", "/api/v1/users?status=locked"),
        ("people: status=erased", "/api/v1/users?status=erased"),
        ("people: role=tenant_admin", "/api/v1/users?role=tenant_admin"),
        ("people: role=helpdesk + status=active", "/api/v1/users?role=helpdesk&status=active"),
        ("people: name contains + status=disabled", "/api/v1/users?q=meyer&status=disabled"),
        ("people: tenant=scale-other + q", "/api/v1/users?tenant=scale-other&q=tanaka"),
        ("people: last login before (a year ago)",
         "/api/v1/users?last_login_before=2025-12-10T00:00:00Z"),
        ("console: people list with total", "/admin/users"),
        ("console: people search with total", "/admin/users?q=schmidt"),
        ("console: people status with total", "/admin/users?status=locked"),
        ("audit: newest page", "/api/v1/audit"),
        ("audit: failed logins", "/api/v1/audit?type=auth.login&outcome=failure"),
        ("audit: type prefix admin.", "/api/v1/audit?type=admin."),
        ("audit: type prefix (no match)", "/api/v1/audit?type=scim."),
        ("audit: events about a person", f"/api/v1/audit?user={user_uuid(some)}"),
        ("audit: actions of an actor last month",
         f"/api/v1/audit?actor={user_uuid(5)}&since=@month"),
        ("audit: one IP", "/api/v1/audit?ip=10.1.2.3"),
        ("audit: one day", "/api/v1/audit?since=@day&until=@day+1"),
        ("audit: tenant + failures", "/api/v1/audit?tenant=scale-other&outcome=failure"),
        ("audit: tenant + type + a week", "/api/v1/audit?tenant=scale-other&type=user.updated"
         "&since=@week"),
        ("audit: outcome failure, a day", "/api/v1/audit?outcome=failure&since=@day&until=@day+1"),
    ]


def _dates(url: str) -> str:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC).replace(microsecond=0)
    marks = {"@month": now - timedelta(days=30), "@week": now - timedelta(days=7),
             "@day+1": now - timedelta(days=99), "@day": now - timedelta(days=100)}
    for mark, value in marks.items():
        url = url.replace(mark, value.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return url


def time_queries(url: str, people: int, runs: int, explain: bool, only: str | None) -> int:
    os.environ.update(IDP_DATABASE_URL=url, IDP_PORT="5997", IDP_LOG_LEVEL="WARNING")
    return _time(people, runs, explain, only)


def _time(people: int, runs: int, explain: bool, only: str | None) -> int:
    import base64

    from sqlalchemy import event

    from idp import create_app
    from idp.extensions import db

    app = create_app()
    statements: list[tuple[str, object]] = []
    client_id, secret = service_client(app, "scale-admin", roles=["superadmin"])
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def _seen(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

    http = app.test_client()
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token = http.post("/token", data={"grant_type": "client_credentials", "scope": "idp:admin"},
                      headers={"Authorization": f"Basic {basic}"}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    console = _console_session(app, http)
    worst = 0.0
    print(f"{'query':48} {'p50 ms':>8} {'p95 ms':>8} {'items':>6}")
    for label, path in queries(people):
        if only and not re.search(only, label):
            continue
        path = _dates(path)
        is_console = path.startswith("/admin/")
        if is_console and console is None:
            continue
        times, items = [], "?"
        for i in range(runs + 1):
            statements.clear()
            t0 = time.perf_counter()
            response = (http.get(path) if is_console else http.get(path, headers=headers))
            elapsed = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200, (path, response.status_code,
                                                 response.get_data(as_text=True)[:300])
            if i:  # the first run warms caches and is not counted
                times.append(elapsed)
            if not is_console:
                items = len(response.get_json()["items"])
        times.sort()
        p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
        worst = max(worst, p95)
        print(f"{label:48} {statistics.median(times):8.1f} {p95:8.1f} {items:>6}", flush=True)
        if explain:
            _explain(engine, statements)
    print(f"# worst p95 {worst:.1f} ms over {runs} runs each")
    return 0


def _explain(engine, statements) -> None:
    """EXPLAIN ANALYZE of the request's statements on the people or audit tables."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for statement, params in statements:
            if "FROM users" not in statement and "FROM audit_events" not in statement:
                continue
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            print("    " + "\n    ".join(row[0] for row in cur.fetchall()[:30]))
        raw.rollback()
    finally:
        raw.close()


def _console_session(app, http):
    """A browser session of the bootstrap admin for the console pages, or None."""
    try:
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
        from tests.integration.admin_support import browser_login, make_person
    except ImportError:
        return None
    make_person(app, f"scale-admin-{os.getpid()}", roles=["superadmin"])
    browser_login(http, f"scale-admin-{os.getpid()}")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default=f"idp_scale_{os.getpid()}")
    parser.add_argument("--revision", default="head", help="migrate to this revision first")
    parser.add_argument("--reuse", action="store_true", help="time an existing --db")
    parser.add_argument("--upgrade", action="store_true", help="with --reuse: migrate to head")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", help="regex: time only the queries whose label matches")
    parser.add_argument("--keys-dir", default=os.path.join(tempfile.gettempdir(), "idp-scale-keys"),
                        help="the master key of the database (kept with --keep)")
    args = parser.parse_args()
    if not re.fullmatch(r"[a-z0-9_]+", args.db):
        parser.error("--db: lower-case letters, digits and _ only")
    url = f"postgresql+psycopg://{args.server.split('://', 1)[1]}/{args.db}"
    os.environ.update(IDP_KEYS_DIR=args.keys_dir, IDP_ISSUER="http://127.0.0.1:5997")
    admin = psycopg.connect(f"{args.server}/postgres", autocommit=True)
    try:
        if not args.reuse:
            admin.execute(f'CREATE DATABASE "{args.db}"')
        if not args.reuse or args.upgrade:
            _migrate(url, "head" if args.reuse else args.revision)
        if not args.reuse:
            with psycopg.connect(f"{args.server}/{args.db}") as conn:
                generate(conn, args.people, args.events)
        return time_queries(url, args.people, args.runs, args.explain, args.only)
    finally:
        if not args.keep:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
            print(f"# dropped {args.db}")
            shutil.rmtree(args.keys_dir, ignore_errors=True)
        admin.close()


def _migrate(url: str, revision: str) -> None:
    import subprocess

    t0 = time.time()
    env = {**os.environ, "IDP_DATABASE_URL": url}
    code = ("import sys; from flask_migrate import upgrade; from idp import create_app; "
            "from idp.app_setup import enable_migrations; "
            "app = create_app(); ctx = app.app_context(); ctx.push(); "
            "from idp.bootstrap import bootstrap; from idp.extensions import db; "
            "from idp.cli import run_upgrade; from idp.database import database_deadline; "
            "rev = sys.argv[1]; dl = database_deadline(None); dl.__enter__(); "
            "run_upgrade(app) if rev == 'head' else "
            "(upgrade(directory=enable_migrations(app).directory, revision=rev), "
            "bootstrap(db.session, app.extensions['idp'].config, app.extensions['idp'].keyring))")
    subprocess.run([sys.executable, "-c", code, revision], env=env, check=True)
    print(f"# migrated to {revision} in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
