"""Where time goes in one /token (client_credentials) or /introspect request, in-process.

Builds the app on a fresh SQLite database in a temp dir, registers a client, then drives
the endpoint with the Flask test client: per-request wall time, SQL statements per
request (and their text), and a cProfile of N requests (top cumulative and own time).

    python bench/profile_token.py                      # RS256 /token, 2000 requests
    python bench/profile_token.py --alg ES256 -n 3000
    python bench/profile_token.py --endpoint introspect
    python bench/profile_token.py --endpoint discovery
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg", default="RS256", choices=["RS256", "ES256"])
    parser.add_argument("--endpoint", default="token", choices=["token", "introspect", "discovery"])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="idp-prof.")
    try:
        return run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: str) -> int:
    os.environ.update(IDP_DATABASE_URL=f"sqlite:///{tmp}/idp.db", IDP_KEYS_DIR=f"{tmp}/keys",
                      IDP_ISSUER="http://127.0.0.1:5999", IDP_PORT="5999")
    os.chdir(tmp)

    from sqlalchemy import event

    from idp import create_app
    from idp.cli import run_upgrade
    from idp.extensions import db
    from idp.oauth.clients.service import ClientSpec, create_client
    from idp.request_context import system_context
    from idp.tenancy.tenants import query_tenant

    app = create_app()
    with app.app_context():
        run_upgrade(app)
        spec = ClientSpec(name="prof", grant_types=["client_credentials"], redirect_uris=[],
                          post_logout_redirect_uris=[], scopes=["api:read"], public=False,
                          first_party=False, auth_method=None, jwks=None, jwks_uri=None,
                          roles=[], audiences=[], token_alg=args.alg)
        client, secret = create_client(db.session, system_context(),
                                       app.extensions["idp"].keyring,
                                       query_tenant(db.session, None), spec)
        db.session.commit()
        client_id = client.id
        engine = db.engine

    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    http = app.test_client()
    token_body = {"grant_type": "client_credentials", "scope": "api:read"}
    access_token = http.post("/token", data=token_body, headers=headers).get_json()["access_token"]

    def one():
        if args.endpoint == "token":
            r = http.post("/token", data=token_body, headers=headers)
        elif args.endpoint == "introspect":
            r = http.post("/introspect", data={"token": access_token,
                                               "token_type_hint": "access_token"}, headers=headers)
        else:
            r = http.get("/.well-known/openid-configuration")
        if r.status_code != 200:
            raise SystemExit(f"HTTP {r.status_code}: {r.get_data(as_text=True)[:300]}")

    for _ in range(50):   # warm caches (keys, metadata, compiled SQL)
        one()

    statements: Counter = Counter()

    def count(conn, cursor, statement, parameters, context, executemany):
        statements[" ".join(statement.split())[:110]] += 1

    event.listen(engine, "before_cursor_execute", count)
    sample = 200
    for _ in range(sample):
        one()
    event.remove(engine, "before_cursor_execute", count)

    t0 = time.perf_counter()
    for _ in range(args.n):
        one()
    wall = (time.perf_counter() - t0) / args.n

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.n):
        one()
    prof.disable()

    print(f"# {args.endpoint} ({args.alg}) via Flask test client, {args.n} requests")
    print(f"# {wall * 1000:.3f} ms/request wall, single thread, no HTTP server "
          f"=> {1 / wall:.0f} req/s per core")
    total = sum(statements.values()) / sample
    print(f"# SQL statements per request: {total:.2f}")
    for text, n in statements.most_common():
        print(f"   {n / sample:5.2f}  {text}")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"\n# top by {order} (per-call times over {args.n} requests)")
        print("\n".join(line for line in out.getvalue().splitlines()
                        if line.strip() and not line.startswith(("   Ordered", "   List"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
