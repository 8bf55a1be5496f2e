"""Browser-test fixtures: the real `idp serve` on a free loopback port, a tiny relying-party
callback server, a registered client, and Debian's Chromium driven by Playwright.

Skipped (with a reason) when /usr/bin/chromium or the playwright package is missing.
Never calls `playwright install`: the system Chromium is used as is.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACT_DIRS = [REPO_ROOT / "test-artifacts", Path("/tmp/shots")]  # noqa: S108 - asked-for drop folder

USERNAME = "carol"
EMAIL = "carol@example.com"
PASSWORD = "Lilac-Browser-Pass-1!"
CLIENT_NAME = "Photo Share"

_missing = []
if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
    _missing.append(f"{CHROMIUM} is not installed (apt-get install chromium)")
if importlib.util.find_spec("playwright") is None:
    _missing.append("the playwright package is not installed (pip install playwright)")


def pytest_collection_modifyitems(config, items):
    if not _missing:
        return
    skip = pytest.mark.skip(reason="browser tests need Chromium and Playwright: " + "; ".join(_missing))
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _idp_command() -> list[str]:
    exe = shutil.which("idp")
    return [exe] if exe else [sys.executable, "-m", "idp.cli"]


def _run_cli(args: list[str], env: dict, cwd: Path, stdin: str | None = None) -> str:
    proc = subprocess.run(_idp_command() + args, env=env, cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"idp {' '.join(args)} failed ({proc.returncode}):\n"
                           f"{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def idp_server(tmp_path_factory):
    """A real `idp serve` (gunicorn, one worker) on SQLite; yields a dict of what tests need."""
    if _missing:
        pytest.skip("; ".join(_missing))
    base = tmp_path_factory.mktemp("idp-browser")
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update({
        "IDP_PORT": str(port),
        "IDP_ISSUER": issuer,
        "IDP_DATABASE_URL": f"sqlite:///{base}/idp.db",
        "IDP_KEYS_DIR": str(base / "keys"),
        "IDP_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    _run_cli(["db", "upgrade"], env, base)
    _run_cli(["users", "create", "--email", EMAIL, "--username", USERNAME, "--password-stdin"],
             env, base, stdin=PASSWORD + "\n")
    rp = _callback_server_start()
    redirect_uri = f"http://127.0.0.1:{rp.server_address[1]}/cb"
    try:
        out = _run_cli(["clients", "create", "--name", CLIENT_NAME, "--redirect-uri", redirect_uri,
                        "--json"], env, base)
        client = json.loads(out.strip().splitlines()[-1])

        log_path = base / "serve.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(_idp_command() + ["serve"], env=env, cwd=base, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_healthy(proc, f"{issuer}/healthz", log_path)
            yield {"issuer": issuer, "client_id": client["client_id"],
                   "client_secret": client.get("client_secret"), "redirect_uri": redirect_uri,
                   "username": USERNAME, "email": EMAIL, "password": PASSWORD,
                   "client_name": CLIENT_NAME, "log": log_path}
        finally:
            _stop(proc)
    finally:
        rp.shutdown()
        rp.server_close()


def _wait_healthy(proc: subprocess.Popen, url: str, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"idp serve exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    _stop(proc)
    raise RuntimeError(f"idp serve not healthy within {timeout:.0f}s:\n{log_path.read_text()}")


class _CallbackHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        body = b"callback ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - silence the per-request log
        pass


def _callback_server_start() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CallbackHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return server


@pytest.fixture(scope="session")
def browser():
    if _missing:
        pytest.skip("; ".join(_missing))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1024, "height": 768})
    ctx.set_default_timeout(15_000)
    ctx.set_default_navigation_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context):
    pg = context.new_page()
    try:
        yield pg
    finally:
        pg.close()


@pytest.fixture(scope="session")
def shot():
    """Save a full-page screenshot under test-artifacts/ and /tmp/shots/; returns the paths."""
    for folder in ARTIFACT_DIRS:
        folder.mkdir(parents=True, exist_ok=True)

    def take(pg, name: str) -> list[Path]:
        first = ARTIFACT_DIRS[0] / f"{name}.png"
        pg.screenshot(path=str(first), full_page=True)
        paths = [first]
        for folder in ARTIFACT_DIRS[1:]:
            target = folder / f"{name}.png"
            shutil.copyfile(first, target)
            paths.append(target)
        return paths

    return take
