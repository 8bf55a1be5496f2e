"""Real processes on loopback for the production tests: `idp serve`, `redis-server`.

Every wait is bounded; every process is started (and stopped) by the test itself.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from tests.factories import PASSWORD, REDIRECT_URI, pkce_pair

IDP = [sys.executable, "-m", "idp.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def base_env(workdir: Path, database_url: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PROMETHEUS_"))}
    env.update({
        "IDP_DATABASE_URL": database_url, "IDP_KEYS_DIR": str(workdir / "keys"),
        "IDP_ISSUER": "http://127.0.0.1:5000", "IDP_BOOTSTRAP_ADMIN_PASSWORD": "Bootstrap-Operator-7!",
        "IDP_LOGIN_RATE_LIMIT": "1000 per minute", "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_cli(env: dict, cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*IDP, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


class IdpServer:
    """One `idp serve` process (a gunicorn master and its workers)."""

    def __init__(self, workdir: Path, env: dict, port: int | None = None, workers: int = 2):
        self.port = port or free_port()
        self.workdir = workdir
        self.env = {**env, "IDP_PORT": str(self.port), "IDP_WORKERS": str(workers)}
        self.stderr_path = workdir / f"serve-{self.port}.err"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 40) -> IdpServer:
        self.stderr = open(self.stderr_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([*IDP, "serve"], env=self.env, cwd=self.workdir,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        wait_for(self._up, timeout, f"idp serve on {self.port}", 0.2)
        wait_for(lambda: len(self.worker_pids()) >= int(self.env["IDP_WORKERS"]), timeout,
                 "gunicorn workers")
        return self

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"idp serve exited: {self.stderr_path.read_text()[-2000:]}")
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except (OSError, ValueError):
            return []

    def log_lines(self) -> list[str]:
        if not self.stderr.closed:
            self.stderr.flush()
        return self.stderr_path.read_text().splitlines()

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)
        finally:
            self.stderr.close()


class RedisServer:
    """A throwaway redis-server on a spare loopback port, no persistence."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._ping, 10, "redis-server")
        return self

    def _ping(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(5)


# --- a relying party driving the browser flow over HTTP ------------------------------

def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else ""


def start_login(browser: requests.Session, base: str, client_id: str) -> tuple[str, str]:
    """GET /authorize at `base`; returns (login URL path, PKCE verifier)."""
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
              "scope": "openid profile email", "state": "s1", "nonce": "n1",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    first = browser.get(base + "/authorize", params=params, allow_redirects=False, timeout=30)
    assert first.status_code == 302, first.text[:500]
    return first.headers["Location"], verifier


def finish_login(browser: requests.Session, base: str, login_path: str, username="alice",
                 password=PASSWORD, timeout: float = 30) -> requests.Response:
    """Fill the login form at `base`; returns the POST response."""
    page = browser.get(base + login_path, timeout=timeout)
    assert page.status_code == 200, page.text[:500]
    return browser.post(base + "/login", data={
        "username": username, "password": password, "csrf_token": _csrf(page.text),
        "rid": _hidden(page.text, "rid")}, allow_redirects=False, timeout=timeout)


def follow_to_code(browser: requests.Session, base: str, response: requests.Response) -> str:
    for _ in range(6):
        assert response.status_code in (302, 303), response.text[:500]
        location = response.headers["Location"]
        if location.startswith(REDIRECT_URI):
            query = parse_qs(urlsplit(location).query)
            assert "code" in query, location
            return query["code"][0]
        target = location if location.startswith("http") else base + location
        response = browser.get(target, allow_redirects=False, timeout=30)
    raise AssertionError("no code")


def login_for_code(base: str, client_id: str, browser=None, finish_at: str | None = None):
    """Whole browser leg; returns (browser, code, verifier)."""
    browser = browser or requests.Session()
    login_path, verifier = start_login(browser, base, client_id)
    end = finish_at or base
    code = follow_to_code(browser, end, finish_login(browser, end, login_path))
    return browser, code, verifier


def exchange(base: str, client_id: str, secret: str, code: str, verifier: str,
             timeout: float = 30) -> requests.Response:
    return requests.post(base + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier}, auth=(client_id, secret), timeout=timeout)
