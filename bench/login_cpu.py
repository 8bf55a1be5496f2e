"""Server CPU of one password login through the hosted flow, against one bare Argon2id
verify at the production parameters, measured in the same run (issue 20, target 2).

    python3 bench/login_cpu.py [--logins 200] [--verifies 60] [--rounds 3]

Starts `idp serve` (2 gunicorn workers, production hashing) on a temporary SQLite
database, then per round: N complete logins (people taking turns, each at most 4 times
so the session limit never ends an older session), each in a fresh cookie jar (authorize ->
login page -> POST -> redirects -> code at the callback, never contacted), with the CPU
time (user + system, /proc) of the gunicorn master and workers read before and after;
and M bare `PasswordHasher.verify` calls (the same hasher object the server uses) timed by
this process's CPU clock. CPU time, not wall time, so other load on the machine matters
little. Target: ms/login <= 1.25 x ms/verify.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.live_server import PASSWORD, LiveServer, login_once  # noqa: E402

TARGET = 1.25


def bare_verify_ms(count: int) -> float:
    from idp.accounts.passwords import HASHERS

    hasher = HASHERS["owasp"]
    stored = hasher.hash(PASSWORD)
    hasher.verify(stored, PASSWORD)  # warm
    start = time.process_time()
    for _ in range(count):
        hasher.verify(stored, PASSWORD)
    return (time.process_time() - start) * 1000 / count


def logins_ms(server: LiveServer, client_id: str, count: int, people: list[str]) -> float:
    before = server.server_cpu()
    for _ in range(count):
        login_once(server.base, client_id, people[0])
        people.append(people.pop(0))
    return (server.server_cpu() - before) * 1000 / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--verifies", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # Everyone signs in at most 4 times, so no login ends the person's oldest session
    # (IDP_MAX_SESSIONS_PER_USER, 5): the everyday login, not the one over the limit.
    people = [f"bench{i}" for i in range((args.logins * args.rounds + 4) // 4 + 1)]
    with LiveServer() as server:
        clients = server.prepare(users=len(people) + 1)
        server.start()
        server.wait_workers(2)
        web = clients["web"]["client_id"]
        for _ in range(4):  # both workers warm (templates, caches)
            login_once(server.base, web, f"bench{len(people)}")
        rows = []
        for round_no in range(1, args.rounds + 1):
            login = logins_ms(server, web, args.logins, people)
            verify = bare_verify_ms(args.verifies)
            rows.append((login, verify, login / verify))
            print(f"round {round_no}: {login:6.1f} ms/login  {verify:5.1f} ms/verify  "
                  f"ratio {login / verify:.2f}", flush=True)
    login, verify, ratio = (statistics.median(c) for c in zip(*rows, strict=True))
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"median: {login:.1f} ms server CPU per login, {verify:.1f} ms per bare verify, "
          f"ratio {ratio:.2f} (target <= {TARGET}) {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
