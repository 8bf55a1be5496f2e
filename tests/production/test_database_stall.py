"""A frozen database (SIGSTOP on a private cluster): probes, 503s and recovery over HTTP."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.production.servers import exchange, login_for_code, wait_for

pytestmark = pytest.mark.slow

STALL = 20.0  # longer than one client deadline plus a connect attempt


def _timed(method, url, **kwargs):
    started = time.monotonic()
    try:
        response = method(url, headers={"Connection": "close", **kwargs.pop("headers", {})},
                          **kwargs)
    except requests.RequestException as exc:
        return repr(exc), time.monotonic() - started, {}
    return response.status_code, time.monotonic() - started, response.headers


def _poll(stop: threading.Event, call, out: list, pause: float) -> None:
    while not stop.is_set():
        out.append((time.monotonic(), *call()))
        time.sleep(pause)


def test_frozen_database_keeps_probes_fast_and_answers_503_then_recovers(
        pg_cluster, private_pg_deployment, servers):
    dep = private_pg_deployment
    server = dep.server(workers=2).start()
    servers.append(server)
    _, code, verifier = login_for_code(server.url, dep.client_id)
    token = exchange(server.url, dep.client_id, dep.secret, code, verifier).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert requests.get(server.url + "/userinfo", headers=bearer, timeout=10).status_code == 200
    assert requests.get(server.url + "/readyz", timeout=10).status_code == 200

    url = server.url
    probes = {"health": [], "ready": [], "jwks": [], "discovery": [], "userinfo": []}
    calls = {
        "health": (lambda: _timed(requests.get, url + "/healthz", timeout=5), 0.2),
        "ready": (lambda: _timed(requests.get, url + "/readyz", timeout=20), 0.2),
        "jwks": (lambda: _timed(requests.get, url + "/jwks.json", timeout=20), 0.5),
        "discovery": (lambda: _timed(
            requests.get, url + "/.well-known/openid-configuration", timeout=20), 0.5),
    }
    stop = threading.Event()
    threads = [threading.Thread(target=_poll, args=(stop, call, probes[name], pause))
               for name, (call, pause) in calls.items()]
    # More clients needing the database than the server has request threads (2 x 4).
    threads += [threading.Thread(target=_poll, args=(stop, lambda: _timed(
        requests.get, url + "/userinfo", headers=bearer, timeout=30), probes["userinfo"], 0.1))
        for _ in range(12)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    paused_at = time.monotonic()
    pg_cluster.pause()
    try:
        time.sleep(STALL)
    finally:
        pg_cluster.resume()
    resumed_at = time.monotonic()
    try:
        first_ok = wait_for(lambda: _ok_after(url, bearer), 15, "recovery after SIGCONT", 0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(40)
    recovery = first_ok - resumed_at
    report = _report(probes, paused_at, resumed_at, recovery)
    print("\nstall measurements:", report)

    # Liveness: every probe answered 200 within 1 s, stall or not.
    assert report["health_count"] >= 50 and report["health_bad"] == [], report
    assert report["health_max"] < 1.0, report
    # Readiness: 503 within 5 s of the stall, and every answer within 5 s.
    assert report["ready_503_after"] is not None and report["ready_503_after"] < 5.0, report
    assert report["ready_max"] < 5.0, report
    # The key documents keep answering from memory.
    assert report["jwks_bad"] == [] and report["discovery_bad"] == [], report
    # Requests needing the database: 503 with Retry-After within 15 s, never a hang or 500.
    assert report["userinfo_503"] >= 12 and report["userinfo_other"] == [], report
    assert report["userinfo_max"] < 15.0, report
    assert report["retry_after_missing"] == 0, report
    # Back without a restart within 5 s.
    assert recovery < 5.0, report
    assert server.proc.poll() is None


def _ok_after(url: str, bearer: dict) -> float | None:
    ready = _timed(requests.get, url + "/readyz", timeout=10)[0]
    info = _timed(requests.get, url + "/userinfo", headers=bearer, timeout=10)[0]
    return time.monotonic() if ready == 200 and info == 200 else None


def _report(probes: dict, paused_at: float, resumed_at: float, recovery: float) -> dict:
    def during(name):
        return [p for p in probes[name] if paused_at <= p[0] <= resumed_at]

    # When each 503 from /readyz was received (a probe sent just before the stall counts).
    ready_503 = [p[0] + p[2] - paused_at for p in probes["ready"]
                 if p[1] == 503 and p[0] + p[2] >= paused_at]
    userinfo = during("userinfo")
    return {
        "health_count": len(during("health")),
        "health_max": round(max(p[2] for p in probes["health"]), 3),
        "health_bad": [p[1] for p in probes["health"] if p[1] != 200],
        "ready_503_after": round(min(ready_503), 2) if ready_503 else None,
        "ready_max": round(max(p[2] for p in probes["ready"]), 2),
        "jwks_bad": [p[1] for p in during("jwks") if p[1] != 200],
        "jwks_max": round(max(p[2] for p in probes["jwks"]), 3),
        "discovery_bad": [p[1] for p in during("discovery") if p[1] != 200],
        "userinfo_503": sum(1 for p in userinfo if p[1] == 503),
        "userinfo_other": [p[1] for p in userinfo if p[1] not in (200, 503)],
        "userinfo_max": round(max(p[2] for p in probes["userinfo"]), 2),
        "retry_after_missing": sum(1 for p in userinfo if p[1] == 503 and
                                   "Retry-After" not in p[3]),
        "recovery": round(recovery, 2),
    }
