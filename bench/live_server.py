"""A real `idp serve` (gunicorn, production hashing) on a temporary SQLite database, for
the login, flood, memory and start-up benchmarks. Loopback only; everything it starts is
stopped by `close()` (or the context manager), and only the processes it started.

The package is taken from this checkout (its root is put first on PYTHONPATH), so the
figures are those of the working tree, not of whatever `idp` is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")
PASSWORD = "Correct horse battery staple 42"
CALLBACK = "http://127.0.0.1:9/cb"  # never contacted: the code is read from the Location


# bench0..benchN-1 in one process (one `idp users create` each would take minutes).
MAKE_PEOPLE = f"""
import sys
from idp import create_app
from idp.tenancy.tenants import ensure_default_tenant
from idp.accounts.users import create_user
from idp.extensions import db
from idp.request_context import system_context
app = create_app()
with app.app_context():
    tenant = ensure_default_tenant(db.session)
    for i in range(int(sys.argv[1])):
        create_user(db.session, system_context(), tenant, email=f"bench{{i}}@example.com",
                    username=f"bench{{i}}", password={PASSWORD!r},
                    config=app.extensions["idp"].config)
    db.session.commit()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


class LiveServer:
    def __init__(self, workers: int = 2, env: dict | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="idp-bench-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ,
                    "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                    "IDP_DATABASE_URL": f"sqlite:///{self.dir}/idp.db",
                    "IDP_KEYS_DIR": str(self.dir / "keys"),
                    "IDP_HOST": "127.0.0.1", "IDP_PORT": str(self.port),
                    "IDP_ISSUER": self.base, "IDP_WORKERS": str(workers),
                    "IDP_BOOTSTRAP_ADMIN_PASSWORD": "Quiet-Lantern-9a7c-Zq",
                    **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.log = self.dir / "idp.log"

    # -- set-up through the real CLI ---------------------------------------------------
    def idp(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([sys.executable, "-m", "idp.cli", *args], env=self.env,
                              input=stdin, capture_output=True, text=True, cwd=self.dir)
        if done.returncode:
            raise RuntimeError(f"idp {' '.join(args)}: {done.stderr.strip()[-500:]}")
        return done.stdout

    def prepare(self, users: int = 1) -> dict:
        """Schema, `users` people (bench0..), a first-party code client and a
        client-credentials client. Returns their names and secrets."""
        self.idp("db", "upgrade")
        self.python(MAKE_PEOPLE, str(users))
        web = json.loads(self.idp(
            "clients", "create", "--name", "bench-web", "--grant-type", "authorization_code",
            "--grant-type", "refresh_token", "--redirect-uri", CALLBACK, "--scope", "openid",
            "--scope", "profile", "--scope", "offline_access", "--first-party", "--json"))
        machine = json.loads(self.idp(
            "clients", "create", "--name", "bench-machine", "--grant-type",
            "client_credentials", "--scope", "api:read", "--json"))
        return {"web": web, "machine": machine}

    def python(self, code: str, *args: str) -> str:
        done = subprocess.run([sys.executable, "-c", code, *args], env=self.env,
                              capture_output=True, text=True, cwd=self.dir)
        if done.returncode:
            raise RuntimeError(done.stderr.strip()[-800:])
        return done.stdout

    # -- the server ---------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> float:
        """Start `idp serve`; seconds until /healthz answered 200."""
        started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "idp.cli", "serve"], env=self.env,
                                     cwd=self.dir, stdout=open(self.log, "w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"idp serve exited:\n{self.log.read_text()[-2000:]}")
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"not healthy within {timeout} s:\n{self.log.read_text()[-2000:]}")

    def wait_workers(self, count: int, timeout: float = 30.0) -> None:
        """Until `count` workers answer (each has loaded the app)."""
        deadline = time.monotonic() + timeout
        while len(self.workers()) < count and time.monotonic() < deadline:
            time.sleep(0.1)

    def workers(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def server_cpu(self) -> float:
        """CPU seconds of the master and every worker so far."""
        return sum(cpu_seconds(p) for p in [self.proc.pid, *self.workers()])

    def workers_rss_mb(self) -> float:
        return sum(rss_kb(p) for p in self.workers()) / 1024

    def close(self, keep: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(25)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        # `timeout` (or a Ctrl-C) ends the bench through __exit__, which stops the server.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        return self

    def __exit__(self, *exc):
        self.close(keep=os.environ.get("KEEP") == "1")


# -- a person signing in through the hosted flow -------------------------------------------
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def login_once(base: str, client_id: str, username: str, password: str = PASSWORD,
               http: requests.Session | None = None, scope: str = "openid profile") -> str:
    """authorize -> login page -> POST -> redirects -> code at the callback. Returns the
    code; raises with the step that went wrong. A fresh browser (cookie jar) each time
    unless `http` is given."""
    http = http or requests.Session()
    url = (f"{base}/authorize?response_type=code&client_id={client_id}"
           f"&redirect_uri={CALLBACK}&scope={requests.utils.quote(scope)}&state=s1&nonce=n1")
    answer = _follow(http, http.get(url, allow_redirects=False))
    if "/login" not in answer.url or answer.status_code != 200:
        raise RuntimeError(f"expected the login page, got {answer.status_code} {answer.url}")
    token = CSRF.search(answer.text)
    rid = re.search(r'name="rid"[^>]*value="([^"]*)"', answer.text)
    form = {"csrf_token": token.group(1) if token else "", "username": username,
            "password": password, "rid": rid.group(1) if rid else ""}
    answer = http.post(answer.url, data=form, allow_redirects=False)
    answer = _follow(http, answer)
    location = answer.headers.get("Location", "")
    if not location.startswith(CALLBACK) or "code=" not in location:
        raise LoginRefused(answer.status_code, answer.headers.get("Retry-After"),
                           location or answer.url)
    return re.search(r"code=([^&]+)", location).group(1)


def login_retrying(*args, attempts: int = 30, **kwargs) -> str:
    """login_once, again after Retry-After while the provider answers 503 (hash slots busy)."""
    for _ in range(attempts - 1):
        try:
            return login_once(*args, **kwargs)
        except LoginRefused as refused:
            if refused.status != 503:
                raise
            time.sleep(float(refused.retry_after or 1))
    return login_once(*args, **kwargs)


class LoginRefused(RuntimeError):
    def __init__(self, status: int, retry_after: str | None, where: str):
        super().__init__(f"login ended with {status} at {where}")
        self.status = status
        self.retry_after = retry_after


def _follow(http: requests.Session, answer: requests.Response) -> requests.Response:
    """Follow redirects on the provider; stop at the callback (never contacted)."""
    for _ in range(10):
        location = answer.headers.get("Location")
        if answer.status_code not in (301, 302, 303, 307) or not location:
            return answer
        if location.startswith(CALLBACK):
            return answer
        answer = http.get(requests.compat.urljoin(answer.url, location), allow_redirects=False)
    raise RuntimeError("too many redirects")
