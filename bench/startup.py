"""Seconds from `idp serve` to /healthz 200 on the embedded default (issue 20, target 6:
within 3 s).

    python3 bench/startup.py [--rounds 3]

Per round, a first start on an empty folder (keys generated, migrations applied, bootstrap
admin made) and a restart on the same folder (the everyday case). Wall time, so other
load on the machine shows; the CPU the server's processes (master and workers) had spent
by then is printed beside it (on a loaded machine the better guide). Loopback only;
stops only what it started.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.live_server import LiveServer  # noqa: E402

TARGET = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    first, again, cpu_first, cpu_again = [], [], [], []
    for _ in range(args.rounds):
        server = LiveServer()
        try:
            first.append(server.start())
            cpu_first.append(server.server_cpu())
            server.close(keep=True)
            again.append(server.start())
            cpu_again.append(server.server_cpu())
            print(f"first start {first[-1]:.2f} s ({cpu_first[-1]:.2f} s CPU), restart "
                  f"{again[-1]:.2f} s ({cpu_again[-1]:.2f} s CPU)", flush=True)
        finally:
            server.close()
    worst = max(statistics.median(first), statistics.median(again))
    print(f"median: first start {statistics.median(first):.2f} s, restart "
          f"{statistics.median(again):.2f} s (target <= {TARGET} s) "
          f"{'PASS' if worst <= TARGET else 'FAIL'}; CPU of the server's processes by then: "
          f"{statistics.median(cpu_first):.2f} s / {statistics.median(cpu_again):.2f} s")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
