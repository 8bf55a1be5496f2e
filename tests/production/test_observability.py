"""Metrics, JSON request logs, the 503 mapping and proxy headers."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
import requests
from prometheus_client import REGISTRY

from idp.logging_setup import json_handler, redact
from tests.factories import make_client, make_user
from tests.oauth_flow import authorize_url, basic, exchange, get_code, login
from tests.production.servers import exchange as http_exchange
from tests.production.servers import free_port, login_for_code


def _sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def config_overrides(config_overrides):
    config_overrides.update(lockout_threshold=2, login_rate_limit="4 per minute")
    return config_overrides


def test_metrics_count_requests_logins_tokens_lockouts_rate_limits_and_sessions(app):
    client = app.test_client()
    make_user(app)
    make_user(app, email="bob@example.com", username="bob")
    client_id, secret = make_client(app)
    before = {
        "token": _sample("idp_http_requests_total", endpoint="oauth.token", method="POST",
                         status="200"),
        "ok": _sample("idp_logins_total", outcome="success"),
        "bad": _sample("idp_logins_total", outcome="invalid_password"),
        "grant": _sample("idp_tokens_issued_total", grant="authorization_code"),
        "locks": _sample("idp_lockouts_total"),
        "limited": _sample("idp_rate_limit_hits_total", endpoint="web.login"),
    }
    query, verifier = get_code(client, client_id)
    assert exchange(client, client_id, secret, query["code"], verifier).status_code == 200
    statuses = []
    for _ in range(5):
        other = app.test_client()
        last = login(other, other.get(authorize_url(client_id)), "bob", "wrong")
        statuses.append(last.status_code)
    assert statuses[-1] == 429, (statuses, last.get_data(as_text=True)[-3000:])
    text = client.get("/metrics").get_data(as_text=True)
    assert _sample("idp_http_requests_total", endpoint="oauth.token", method="POST",
                   status="200") == before["token"] + 1
    assert _sample("idp_http_request_duration_seconds_count", endpoint="oauth.token") >= 1
    assert _sample("idp_logins_total", outcome="success") == before["ok"] + 1
    assert _sample("idp_logins_total", outcome="invalid_password") >= before["bad"] + 2
    assert _sample("idp_tokens_issued_total", grant="authorization_code") == before["grant"] + 1
    assert _sample("idp_lockouts_total") == before["locks"] + 1
    assert _sample("idp_rate_limit_hits_total", endpoint="web.login") == before["limited"] + 1
    assert re.search(r"^idp_active_sessions 1\.0$", text, re.M), text[-800:]
    for name in ("idp_http_requests_total", "idp_http_request_duration_seconds_bucket",
                 "idp_logins_total", "idp_tokens_issued_total", "idp_lockouts_total",
                 "idp_rate_limit_hits_total"):
        assert name in text


def test_request_log_is_one_json_line_with_request_id_and_no_query(app, client):
    stream = io.StringIO()
    handler = json_handler(stream)
    logger = logging.getLogger("idp.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        response = client.get("/jwks.json?code=secret-code-value",
                              headers={"X-Request-ID": "req-abc.123"})
    finally:
        logger.removeHandler(handler)
    assert response.headers["X-Request-ID"] == "req-abc.123"
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["request_id"] == "req-abc.123" and line["path"] == "/jwks.json"
    assert line["method"] == "GET" and line["status"] == 200 and line["duration_ms"] >= 0
    assert line["client_ip"] == "127.0.0.1"
    assert "secret-code-value" not in stream.getvalue()


def test_redaction_filter_strips_tokens_and_secrets():
    stream = io.StringIO()
    logger = logging.getLogger("idp.test.redaction")
    logger.addHandler(json_handler(stream))
    logger.propagate = False
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    try:
        logger.warning("saw %s and Bearer %s", "idp_sk_abcDEF123", jwt,
                       extra={"details": {"refresh": "idp_rt_zzz999", "url": "/cb?code=abc123"}})
    finally:
        logger.handlers.clear()
    out = stream.getvalue()
    for secret in ("idp_sk_abcDEF123", jwt, "eyJ", "idp_rt_zzz999", "abc123"):
        assert secret not in out
    assert "[redacted]" in out and json.loads(out)["level"] == "warning"
    assert redact("Authorization: Basic dXNlcjpwYXNz") == "Authorization: Basic [redacted]"


def test_serve_aggregates_worker_metrics_and_logs_json_without_tokens(
        sqlite_deployment, servers):
    dep = sqlite_deployment
    server = dep.server(workers=2).start()
    servers.append(server)
    def healthz_count() -> float:
        text = requests.get(server.url + "/metrics", timeout=30).text
        found = re.search(r'idp_http_requests_total\{endpoint="ops.healthz",method="GET",'
                          r'status="200"\} (\S+)', text)
        return float(found.group(1)) if found else 0.0

    before = healthz_count()
    for _ in range(20):
        requests.get(server.url + "/healthz", headers={"Connection": "close"}, timeout=30)
    browser, code, verifier = login_for_code(server.url, dep.client_id)
    tokens = http_exchange(server.url, dep.client_id, dep.secret, code, verifier).json()
    userinfo = requests.get(server.url + "/userinfo", timeout=30, headers={
        "Authorization": "Bearer " + tokens["access_token"], "X-Request-ID": "trace-42"})
    assert userinfo.status_code == 200 and userinfo.headers["X-Request-ID"] == "trace-42"
    text = requests.get(server.url + "/metrics", timeout=30).text
    assert healthz_count() == before + 20  # both workers' counts, summed
    assert re.search(r"^idp_active_sessions 1\.0$", text, re.M)
    server.stop()
    lines = server.log_lines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(records) >= 20 and len(records) == len([x for x in lines if x.strip()])
    traced = [r for r in records if r.get("request_id") == "trace-42"]
    assert len(traced) == 1 and traced[0]["path"] == "/userinfo"
    assert traced[0]["status"] == 200 and traced[0]["logger"] == "idp.request"
    everything = "\n".join(lines)
    for secret in (tokens["access_token"], tokens["refresh_token"], tokens["id_token"], code,
                   dep.secret):
        assert secret not in everything


# --- the database is away -----------------------------------------------------------------

@pytest.fixture
def dead_database_app(tmp_path):
    from idp import create_app

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    return create_app({"database_url": url, "keys_dir": str(tmp_path / "keys"),
                       "issuer": "http://localhost", "testing": True})


def test_database_refusing_connections_gives_503_json_and_failing_readyz(dead_database_app):
    client = dead_database_app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "unavailable", "checks": {"database": "unreachable"}}
    assert client.get("/healthz").status_code == 200  # the process itself is alive
    for response in (client.get("/jwks.json"),
                     client.post("/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": "Basic eDp5"}),
                     client.post("/introspect", data={"token": "x"},
                                 headers={"Authorization": "Basic eDp5"})):
        assert response.status_code == 503, response.get_data(as_text=True)[:300]
        assert response.get_json()["error"] == "service_unavailable"
        assert response.headers["Retry-After"]
    page = client.get("/login", headers={"Accept": "text/html"})
    assert page.status_code == 503
    body = page.get_data(as_text=True)
    assert "Traceback" not in body and "psycopg" not in body and "Temporarily unavailable" in body


def test_trusted_proxy_scheme_is_seen_by_the_app(app):
    from flask import request

    app.add_url_rule("/_scheme", "scheme_probe", lambda: request.scheme)
    client = app.test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert client.get("/_scheme", headers=headers).get_data(as_text=True) == "http"


def test_trusted_proxy_scheme_honoured_when_configured(config_overrides, empty_database_url):
    from flask import request

    from idp import create_app

    application = create_app({**config_overrides, "trusted_proxies": 1})

    application.add_url_rule("/_scheme", "scheme_probe", lambda: request.scheme)
    client = application.test_client()
    response = client.get("/_scheme", headers={"X-Forwarded-Proto": "https"})
    assert response.get_data(as_text=True) == "https"


def test_stalled_database_lock_gives_503_within_the_lock_timeout(app):
    """A lock held elsewhere (a stuck transaction) ends in 503 after lock_timeout, not a hang."""
    import time

    from sqlalchemy import create_engine, text

    from tests.conftest import PG_URL

    if not PG_URL:
        pytest.skip("lock_timeout is a PostgreSQL setting (IDP_TEST_DATABASE_URL)")
    client_id, _ = make_client(app)
    blocker = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with blocker.connect() as conn:
        conn.execute(text("SELECT 1 FROM audit_chain_head FOR UPDATE"))
        started = time.monotonic()
        response = app.test_client().post(
            "/token", data={"grant_type": "client_credentials"},
            headers=basic(client_id, "wrong"))
        took = time.monotonic() - started
        conn.rollback()
    blocker.dispose()
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == "service_unavailable"
    assert took < 8
