"""A zero-downtime restart: USR2 re-executes the master (new code, same socket), then TERM
the old one (docs/operations.md, "Restarting without downtime").

A plain SIGTERM-and-start leaves no listener while the new process boots; here a client
opening a fresh connection for every request never sees a refusal or an error.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.production.invariants import check_after_fault
from tests.production.servers import wait_for
from tests.production.test_faults import _flows, _hammer

pytestmark = pytest.mark.slow


def _children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except (OSError, ValueError):
        return set()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _new_master(old_master: int, old_workers: set[int]) -> int | None:
    """The re-executed master: the old master's child that has workers of its own."""
    for pid in _children(old_master) - old_workers:
        if len(_children(pid)) >= 2:
            return pid
    return None


def _stop(pid: int) -> None:
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        try:
            wait_for(lambda: not _alive(pid), 30, f"process {pid} to stop")
        except AssertionError:
            os.kill(pid, signal.SIGKILL)


def test_usr2_then_term_restarts_without_refusing_a_connection(sqlite_deployment, servers):
    dep = sqlite_deployment
    server = dep.server(workers=2).start()
    servers.append(server)
    old_master, old_workers = server.proc.pid, set(server.worker_pids())
    stop, outcomes = threading.Event(), []
    logins = {"attempts": 0, "logins": 0, "tokens": [], "broken": 0}
    paths = ["/jwks.json", "/.well-known/openid-configuration", "/healthz", "/readyz"]
    threads = [threading.Thread(target=_hammer, args=(
        lambda: server.url + random.choice(paths), stop, outcomes)) for _ in range(3)]  # noqa: S311
    threads.append(threading.Thread(target=_flows, args=(dep, server, stop, logins)))
    new_master = None
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        server.proc.send_signal(signal.SIGUSR2)  # step 1: a new master on the same socket
        new_master = wait_for(lambda: _new_master(old_master, old_workers), 60,
                              "the re-executed master and its workers")
        wait_for(lambda: any(f'"Booting worker with pid: {pid}' in line
                             for pid in _children(new_master) for line in server.log_lines()),
                 30, "the new workers to boot")
        time.sleep(2)  # both generations serve side by side
        server.proc.send_signal(signal.SIGTERM)  # step 2: the old master drains and exits
        assert server.proc.wait(40) == 0
        time.sleep(2)
        assert _alive(new_master) and len(_children(new_master)) == 2
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        if new_master is not None:
            after = [requests.get(server.url + path, timeout=15).status_code
                     for path in ("/readyz", "/metrics")]
            _stop(new_master)
    failures = [o for o in outcomes if o != 200]
    assert len(outcomes) > 50 and failures == [], failures[:5]
    assert after == [200, 200]  # the new generation's metrics dir survived the old master
    assert logins["logins"] == logins["attempts"] and len(logins["tokens"]) == logins["logins"]
    check_after_fault(dep, acknowledged_logins=logins["logins"],
                      acknowledged_tokens=logins["tokens"], attempted_logins=logins["attempts"])
