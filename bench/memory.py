"""Resident memory of the two workers, idle and after 10,000 mixed requests including
logins (issue 20, target 4: <= 150 MB idle, <= 250 MB after, both workers together).

    python3 bench/memory.py [--requests 10000] [--threads 8]

Starts `idp serve` (2 gunicorn workers, production hashing) on a temporary SQLite
database; RSS (VmRSS, /proc) of the workers once both answer, then after the mix: per
round of 10 requests (any client), one password login through the hosted flow (4 requests:
authorize, login page, POST, resume), and client-credentials /token, /jwks.json,
discovery, /userinfo and a refresh rotation. `--threads` clients at once (8 = the
threads of both workers: every request thread of a worker may hash).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.live_server import LiveServer, LoginRefused, login_once, login_retrying, rss_kb  # noqa: E402
from bench.login_flood import Probes  # noqa: E402

IDLE_TARGET, LOADED_TARGET = 150, 250
PEOPLE = 32  # bench0-7 hold the probes' sessions, bench8-39 sign in


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--env", nargs="*", default=[], help="NAME=VALUE for `idp serve`")
    args = parser.parse_args()
    with LiveServer(env=dict(e.split("=", 1) for e in args.env)) as server:
        clients = server.prepare(users=PEOPLE + args.threads)
        server.start()
        server.wait_workers(2)
        web = clients["web"]["client_id"]
        for _ in range(8):  # both workers have loaded the app (they import it on start)
            requests.get(f"{server.base}/.well-known/openid-configuration", timeout=10)
        idle = server.workers_rss_mb()
        per_worker_idle = [round(kb / 1024) for kb in _each(server)]
        done = [0]
        refused = [0]
        lock = threading.Lock()
        rounds = args.requests // 10

        def client(i: int):
            probes = Probes(server.base, clients, login_retrying(
                server.base, web, f"bench{i}", scope="openid profile offline_access"))
            n = 0
            while True:
                with lock:
                    if done[0] >= rounds:
                        return
                    done[0] += 1
                n += 1
                try:
                    login_once(server.base, web,
                               f"bench{args.threads + (i + n * args.threads) % PEOPLE}")
                except LoginRefused:
                    with lock:
                        refused[0] += 1
                probes.round({name: [] for name in Probes.NAMES}, {})
                probes.token()
                probes.jwks()

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        loaded = server.workers_rss_mb()
        per_worker = [round(kb / 1024) for kb in _each(server)]
        master_mb = rss_kb(server.proc.pid) / 1024
    print(f"# {rounds * 10} requests ({rounds} logins, {refused[0]} refused 503) from "
          f"{args.threads} clients in {elapsed:.0f} s")
    print(f"workers RSS idle:  {idle:6.1f} MB  {per_worker_idle}  target <= {IDLE_TARGET}  "
          f"{'PASS' if idle <= IDLE_TARGET else 'FAIL'}")
    print(f"workers RSS after: {loaded:6.1f} MB  {per_worker}  target <= {LOADED_TARGET}  "
          f"{'PASS' if loaded <= LOADED_TARGET else 'FAIL'}   (master {master_mb:.0f} MB)")
    return 0 if idle <= IDLE_TARGET and loaded <= LOADED_TARGET else 1


def _each(server: LiveServer) -> list[int]:
    return [rss_kb(p) for p in server.workers()]


if __name__ == "__main__":
    sys.exit(main())
