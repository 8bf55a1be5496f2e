"""Our own CPU per client-credentials /token or /introspect request, without the HTTP server.

Builds the app (fresh SQLite in a temp dir, one client), then calls the outermost WSGI
callable (`app.wsgi_app`: request log, metrics, fast paths, Flask) with a ready environ
in a loop: what is left once gunicorn's parsing and socket I/O are taken away. Prints
microseconds of CPU per request (median of 5 batches) and, with --profile, a cProfile.

    python bench/wsgi_cost.py                         # RS256 /token
    python bench/wsgi_cost.py --alg ES256
    python bench/wsgi_cost.py --endpoint introspect --profile
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import os
import pstats
import statistics
import sys
import time

from bench_support import fresh_app, in_temp_dir, service_client


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg", default="RS256", choices=["RS256", "ES256"])
    parser.add_argument("--endpoint", default="token", choices=["token", "introspect"])
    parser.add_argument("-n", type=int, default=1000, help="requests per batch")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    return in_temp_dir(run, args, "idp-wsgi.")


def run(args, tmp: str) -> int:
    import logging

    app = fresh_app(tmp, IDP_LOG_LEVEL=os.environ.get("IDP_LOG_LEVEL", "INFO"))
    client_id, secret = service_client(app, "cost", alg=args.alg, scopes=["api:read"])
    # The request line goes to a stream nobody reads, as gunicorn's stderr would.
    for handler in logging.getLogger().handlers:
        if hasattr(handler, "setStream"):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115

    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token_body = b"grant_type=client_credentials&scope=api%3Aread"
    status = []

    def start_response(s, headers, exc_info=None):
        status.append(s)

    def call(path: str, body: bytes) -> bytes:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5999", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:5999",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)), "HTTP_AUTHORIZATION": f"Basic {basic}",
            "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        out = b"".join(app.wsgi_app(environ, start_response))
        assert status[-1].startswith("200"), (status[-1], out)
        return out

    import json

    access = json.loads(call("/token", token_body))["access_token"]
    body = token_body if args.endpoint == "token" else \
        f"token={access}&token_type_hint=access_token".encode()
    path = "/token" if args.endpoint == "token" else "/introspect"
    for _ in range(200):
        call(path, body)

    batches = []
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(args.n):
            call(path, body)
        batches.append((time.process_time() - t0) / args.n * 1e6)
    print(f"{args.endpoint} {args.alg}: {statistics.median(batches):.0f} us CPU per request "
          f"(median of 5 x {args.n}; batches {', '.join(f'{b:.0f}' for b in batches)})")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.n):
            call(path, body)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
