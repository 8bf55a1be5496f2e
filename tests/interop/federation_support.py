"""The upstream for the federation tests: node oidc-provider (tests/interop/upstream_op.mjs)
on a free loopback port, and a 'browser' that crosses from our Flask test client to the
upstream over real HTTP and back."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from idp.extensions import db
from idp.federation.providers import ProviderSpec, create_provider
from idp.request_context import system_context
from idp.tenancy.tenants import ensure_default_tenant

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "upstream_op.mjs"
CLIENT_ID, CLIENT_SECRET = "our-idp", "upstream-secret-for-tests"
OUR_ISSUER = "http://localhost"  # tests/conftest.py


def skip_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (the upstream is npm oidc-provider)"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return "tests/interop/node_modules/oidc-provider is missing; run `cd tests/interop && npm ci`"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Upstream:
    """One running oidc-provider; stop() ends the process this test started."""

    def __init__(self, slug: str, accounts: dict, *, bad_jwks=False, issuer_host="127.0.0.1",
                 our_issuer=OUR_ISSUER):
        self.port = free_port()
        self.issuer = f"http://{issuer_host}:{self.port}"
        payload = {"port": self.port, "issuer": self.issuer, "client_id": CLIENT_ID,
                   "client_secret": CLIENT_SECRET, "accounts": accounts, "bad_jwks": bad_jwks,
                   "redirect_uri": f"{our_issuer}/login/external/{slug}/callback",
                   "post_logout_redirect_uri": f"{our_issuer}/login/external/{slug}/logged-out"}
        self.proc = subprocess.Popen(["node", str(SCRIPT)], cwd=HERE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True,
                                     env={**os.environ, "UPSTREAM_INPUT": json.dumps(payload)})
        deadline = time.monotonic() + 20
        while self.proc.stdout.readline().strip() != "ready":
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("oidc-provider did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc.stdout.close()


@pytest.fixture(name="upstreams")
def upstreams_fixture():
    """Start upstreams with start(slug, accounts, ...); all are stopped after the test."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    started: list[Upstream] = []

    def start(slug="corp", accounts=None, **kw) -> Upstream:
        started.append(Upstream(slug, accounts or {}, **kw))
        return started[-1]

    yield start
    for upstream in started:
        upstream.stop()


def add_provider(app, issuer: str, name="Corp", **flags) -> str:
    """Register the upstream as a provider of the default tenant; returns its slug."""
    spec = ProviderSpec(name=name, issuer=issuer, client_id=CLIENT_ID,
                        client_secret=CLIENT_SECRET, **flags)
    with app.app_context():
        svc = app.extensions["idp"]
        provider = create_provider(db.session, system_context(), svc.keyring,
                                   ensure_default_tenant(db.session), spec, svc.outbound_policy)
        db.session.commit()
        return provider.slug


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attr = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attr.get("action") or "", "fields": {}})
        elif tag in ("input", "button") and self.forms and attr.get("name"):
            self.forms[-1]["fields"].setdefault(attr["name"], attr.get("value") or "")


def upstream_login(location: str, login: str, tamper=None) -> str:
    """Play the person at the upstream (its dev login form, then consent); returns the
    callback URL to our server. `tamper(url)` may change the callback before it returns."""
    with requests.Session() as browser:
        response = browser.get(location, allow_redirects=False, timeout=10)
        for _ in range(12):
            if response.status_code in (302, 303):
                target = urljoin(response.url, response.headers["Location"])
                if target.startswith(OUR_ISSUER + "/"):
                    return tamper(target) if tamper else target
                response = browser.get(target, allow_redirects=False, timeout=10)
                continue
            assert response.status_code == 200, (response.status_code, response.text[:300])
            parser = _Forms()
            parser.feed(response.text)
            form = next(f for f in parser.forms if f["action"])
            fields = {**form["fields"], "login": login, "password": "any"}
            response = browser.post(urljoin(response.url, form["action"]), data=fields,
                                    allow_redirects=False, timeout=10)
    raise AssertionError("the upstream never sent the browser back")


def upstream_logout(location: str) -> str:
    """Play the person at the upstream's end_session_endpoint (its "sign me out?" form);
    returns where it sends the browser back to us."""
    with requests.Session() as browser:
        response = browser.get(location, allow_redirects=False, timeout=10)
        for _ in range(6):
            if response.status_code in (302, 303):
                target = urljoin(response.url, response.headers["Location"])
                if target.startswith(OUR_ISSUER + "/"):
                    return target
                response = browser.get(target, allow_redirects=False, timeout=10)
                continue
            assert response.status_code == 200, (response.status_code, response.text[:300])
            parser = _Forms()
            parser.feed(response.text)
            form = next(f for f in parser.forms if f["action"])
            response = browser.post(urljoin(response.url, form["action"]),
                                    data={**form["fields"], "logout": "yes"},
                                    allow_redirects=False, timeout=10)
    raise AssertionError("the upstream never sent the browser back")


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
