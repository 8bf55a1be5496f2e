"""Where a password login's time goes, in-process (issue 20, target 2).

Builds the app (production hashing) on a fresh SQLite database in a temp dir, creates a
person and a first-party client through the CLI, then drives complete logins through the
Flask test client (authorize -> login page -> POST -> resume -> code): SQL statements per
login (and their text), CPU per login against one bare verify, and a cProfile.

    python bench/profile_login.py [-n 100] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import re
import sys
import time

from bench_support import fresh_app, in_temp_dir, statements_of

PASSWORD = "Correct horse battery staple 42"
CALLBACK = "http://127.0.0.1:9/cb"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", help="write the cProfile stats to this file")
    parser.add_argument("--callers", nargs="*", default=[], help="print callers of these")
    args = parser.parse_args()
    return in_temp_dir(run, args, "idp-prof.")


def run(args, tmp: str) -> int:
    app = fresh_app(tmp, IDP_BOOTSTRAP_ADMIN_PASSWORD="Quiet-Lantern-9a7c-Zq")
    from idp.accounts.passwords import HASHERS
    from idp.extensions import db

    with app.app_context():
        engine = db.engine
    from click.testing import CliRunner

    from idp.cli import main as idp_cli

    cli = CliRunner()
    out = cli.invoke(idp_cli, args=["users", "create", "--email", "bench0@example.com", "--username",
                           "bench0", "--password-stdin"], input=PASSWORD + "\n")
    assert out.exit_code == 0, out.output
    out = cli.invoke(idp_cli, args=["clients", "create", "--name", "web", "--grant-type",
                           "authorization_code", "--redirect-uri", CALLBACK, "--scope", "openid",
                           "--scope", "profile", "--first-party", "--json"])
    assert out.exit_code == 0, out.output
    client_id = json.loads(out.output)["client_id"]

    def one():
        http = app.test_client()
        r = http.get(f"/authorize?response_type=code&client_id={client_id}"
                     f"&redirect_uri={CALLBACK}&scope=openid%20profile&state=s&nonce=n")
        assert r.status_code == 302, r.status_code
        r = http.get(r.headers["Location"])
        page = r.get_data(as_text=True)
        form = {"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1],
                "rid": re.search(r'name="rid"[^>]*value="([^"]*)"', page)[1],
                "username": "bench0", "password": PASSWORD}
        r = http.post("/login", data=form)
        while r.status_code == 302 and not r.headers["Location"].startswith(CALLBACK):
            r = http.get(r.headers["Location"])
        assert r.headers["Location"].startswith(CALLBACK) and "code=" in r.headers["Location"]

    for _ in range(5):
        one()
    sample = 10
    statements = statements_of(engine, one, sample)

    hasher = HASHERS["owasp"]
    stored = hasher.hash(PASSWORD)
    t0 = time.process_time()
    for _ in range(args.n // 2):
        hasher.verify(stored, PASSWORD)
    verify = (time.process_time() - t0) / (args.n // 2)
    t0 = time.process_time()
    for _ in range(args.n):
        one()
    login = (time.process_time() - t0) / args.n
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    for _ in range(args.n):
        one()
    prof.disable()

    print(f"# {login * 1000:.1f} ms CPU per login (test client, includes the client side), "
          f"{verify * 1000:.1f} ms per bare verify, ratio {login / verify:.2f}")
    print(f"# SQL statements per login: {sum(statements.values()) / sample:.1f}")
    for text, n in statements.most_common():
        print(f"   {n / sample:5.1f}  {text}")
    for order in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(order).print_stats(args.top)
        print(f"\n# top by {order} over {args.n} logins")
        print("\n".join(line for line in buf.getvalue().splitlines()
                        if line.strip() and not line.startswith(("   Ordered", "   List"))))
    if args.dump:
        prof.dump_stats(args.dump)
    if args.callers:
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("tottime")
        for name in args.callers:
            stats.print_callers(name)
        print(buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
