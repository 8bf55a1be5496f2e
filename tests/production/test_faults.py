"""Faults on loopback: workers killed mid-request, graceful restarts, Redis gone or hung."""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
import time

import pytest
import requests

from tests.factories import PASSWORD, make_user
from tests.production.invariants import check_after_fault
from tests.production.servers import exchange, finish_login, login_for_code, start_login, wait_for

pytestmark = pytest.mark.slow


def _flows(dep, server, stop: threading.Event, results: dict) -> None:
    """Log in and exchange the code, over and over, noting what was acknowledged."""
    while not stop.is_set():
        results["attempts"] += 1
        browser = requests.Session()
        browser.headers["Connection"] = "close"  # no stale keep-alive across restarts
        try:
            _, code, verifier = login_for_code(server.url, dep.client_id, browser=browser)
        except (requests.RequestException, AssertionError):
            results["broken"] += 1
            continue
        results["logins"] += 1
        try:
            response = exchange(server.url, dep.client_id, dep.secret, code, verifier)
        except requests.RequestException:
            results["broken"] += 1
            continue
        if response.status_code == 200:
            results["tokens"].append(response.json()["access_token"])


def test_kill_9_of_workers_mid_login_and_exchange_leaves_no_half_written_state(
        sqlite_deployment, servers):
    dep = sqlite_deployment
    server = dep.server(workers=2).start()
    servers.append(server)
    stop, results = threading.Event(), {"attempts": 0, "logins": 0, "tokens": [], "broken": 0}
    threads = [threading.Thread(target=_flows, args=(dep, server, stop, results))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    kills = 0
    try:
        deadline = time.monotonic() + 14
        while time.monotonic() < deadline:
            time.sleep(random.uniform(0.4, 1.2))  # noqa: S311 - timing jitter only
            pids = server.worker_pids()
            if pids:
                os.kill(random.choice(pids), signal.SIGKILL)  # noqa: S311
                kills += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert kills >= 8
    wait_for(lambda: len(server.worker_pids()) == 2, 20, "gunicorn to replace the workers")
    # The provider still works after the massacre.
    _, code, verifier = login_for_code(server.url, dep.client_id)
    final = exchange(server.url, dep.client_id, dep.secret, code, verifier)
    assert final.status_code == 200
    server.stop()
    counts = check_after_fault(dep, acknowledged_logins=results["logins"] + 1,
                               acknowledged_tokens=[*results["tokens"],
                                                    final.json()["access_token"]],
                               attempted_logins=results["attempts"] + 1)
    assert results["tokens"], "no flow completed between kills"
    assert results["broken"] >= 1, "no kill landed on a request in flight"
    assert counts["tokens"] >= len(results["tokens"]) + 1


def _hammer(url_fn, stop: threading.Event, outcomes: list) -> None:
    while not stop.is_set():
        try:
            # A fresh connection per request, as a load balancer health-checked pool would.
            response = requests.get(url_fn(), headers={"Connection": "close"}, timeout=30)
            outcomes.append(response.status_code)
        except requests.RequestException as exc:
            outcomes.append(repr(exc))


def test_graceful_restart_under_load_drops_no_request(sqlite_deployment, servers):
    dep = sqlite_deployment
    server = dep.server(workers=2).start()
    servers.append(server)
    stop, outcomes, logins = threading.Event(), [], {"attempts": 0, "logins": 0, "tokens": [], "broken": 0}
    paths = ["/jwks.json", "/.well-known/openid-configuration", "/healthz", "/readyz"]
    threads = [threading.Thread(target=_hammer, args=(
        lambda: server.url + random.choice(paths), stop, outcomes)) for _ in range(3)]  # noqa: S311
    threads.append(threading.Thread(target=_flows, args=(dep, server, stop, logins)))
    for thread in threads:
        thread.start()
    try:
        for _ in range(2):
            time.sleep(2)
            before = set(server.worker_pids())
            server.proc.send_signal(signal.SIGHUP)
            wait_for(lambda b=before: len(set(server.worker_pids()) - b) >= 2, 30,
                     "a new generation of workers")
        time.sleep(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    failures = [o for o in outcomes if o != 200]
    assert len(outcomes) > 50 and failures == []
    assert logins["logins"] == logins["attempts"] and len(logins["tokens"]) == logins["logins"]
    server.stop()
    check_after_fault(dep, acknowledged_logins=logins["logins"],
                      acknowledged_tokens=logins["tokens"], attempted_logins=logins["attempts"])


def test_sigterm_finishes_the_request_in_flight(sqlite_deployment, servers):
    dep = sqlite_deployment
    server = dep.server(workers=1).start()
    servers.append(server)
    body = f"grant_type=client_credentials&client_id={dep.client_id}&client_secret=x"
    head = (f"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(head.encode() + body[:10].encode())
        time.sleep(0.5)  # the worker is now reading this request
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        sock.sendall(body[10:].encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 "), reply[:200]
    status = int(reply.split(b" ", 2)[1])
    assert status in (400, 401), reply[:300]  # a complete OAuth answer, not a dropped socket
    assert server.proc.wait(25) == 0
    check_after_fault(dep)


# --- Redis gone or hung -------------------------------------------------------------------

def _timed_login(server, dep, username="alice", password=PASSWORD):
    started = time.monotonic()
    browser = requests.Session()
    login_path, _ = start_login(browser, server.url, dep.client_id)
    response = finish_login(browser, server.url, login_path, username, password)
    return response, time.monotonic() - started


@pytest.mark.parametrize("fault", ["killed", "paused"])
def test_logins_continue_when_redis_fails(sqlite_deployment, servers, redis_server, fault):
    from idp import create_app

    dep = sqlite_deployment
    app = create_app({"database_url": dep.database_url, "keys_dir": str(dep.workdir / "keys"),
                      "issuer": dep.env["IDP_ISSUER"], "testing": True})
    make_user(app, email="bob@example.com", username="bob")
    server = dep.server(workers=1, IDP_REDIS_URL=redis_server.url, IDP_LOCKOUT_THRESHOLD=3,
                        IDP_LOGIN_RATE_LIMIT="20 per minute").start()
    servers.append(server)
    ok, baseline = _timed_login(server, dep)
    assert ok.status_code in (302, 303)
    # "Does not hang": bounded by Redis's 0.5 s timeouts, with room for a loaded CI machine.
    bound = max(10.0, 3 * baseline)
    assert requests.get(server.url + "/readyz", timeout=15).json()["checks"]["redis"] == "ok"
    if fault == "killed":
        redis_server.stop()
    else:
        redis_server.proc.send_signal(signal.SIGSTOP)
    try:
        for _ in range(3):
            response, took = _timed_login(server, dep)
            assert response.status_code in (302, 303) and took < bound, (response.status_code, took)
        ready = requests.get(server.url + "/readyz", timeout=15)
        assert ready.status_code == 200
        assert ready.json() == {"status": "degraded",
                                "checks": {"database": "ok", "redis": "unreachable"}}
        assert requests.get(server.url + "/readyz?strict=1", timeout=15).status_code == 503
        # Lockout lives in the database: it holds while Redis is away.
        for _ in range(3):
            bad, took = _timed_login(server, dep, "bob", "wrong-password")
            assert bad.status_code == 401 and took < bound
        locked, _ = _timed_login(server, dep, "bob", PASSWORD)
        assert locked.status_code not in (302, 303)
        # The per-IP login limit falls back to this process's memory: still bounded.
        statuses = [_timed_login(server, dep, "nobody", "nope")[0].status_code for _ in range(20)]
        assert 429 in statuses
    finally:
        if redis_server.proc.poll() is None:
            redis_server.proc.send_signal(signal.SIGCONT)
    server.stop()
    check_after_fault(dep, acknowledged_logins=4, attempted_logins=4)  # alice's four logins
