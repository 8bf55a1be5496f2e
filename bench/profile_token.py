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
import pstats
import sys
import time

from bench_support import fresh_app, in_temp_dir, service_client, statements_of


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg", default="RS256", choices=["RS256", "ES256"])
    parser.add_argument("--endpoint", default="token", choices=["token", "introspect", "discovery"])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()

    return in_temp_dir(run, args, "idp-prof.")


def run(args, tmp: str) -> int:
    app = fresh_app(tmp)
    client_id, secret = service_client(app, "prof", alg=args.alg, scopes=["api:read"])
    with app.app_context():
        from idp.extensions import db

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

    sample = 200
    statements = statements_of(engine, one, sample, width=110)

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
