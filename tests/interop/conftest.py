"""Fixtures for interop tests: a real `idp serve` on a free loopback port, a user and two
clients made with the CLI, and a runner for the openid-client relying party (rp.mjs).

Skipped, with the reason, when node or tests/interop/node_modules is missing
(`cd tests/interop && npm ci` installs the pinned openid-client).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
RP_SCRIPT = HERE / "rp.mjs"
PASSWORD = "Interop-Relying-Pw-42!"  # no user name in it: the password policy refuses that
ADMIN_PASSWORD = "Interop-Bootstrap-Operator-7!"
REDIRECT_URI = "http://127.0.0.1:9/cb"
STARTUP_TIMEOUT = 30.0
CLI_TIMEOUT = 60.0
RP_TIMEOUT = 60.0


def _skip_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (interop tests drive the npm openid-client library)"
    if not (HERE / "node_modules" / "openid-client").is_dir():
        return "tests/interop/node_modules is missing; run `cd tests/interop && npm ci`"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if reason is None:
        return
    marker = pytest.mark.skip(reason=reason)
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(marker)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _idp_command() -> list[str]:
    # The console script when on PATH, else the module, with this interpreter.
    exe = shutil.which("idp")
    return [exe] if exe else [sys.executable, "-m", "idp.cli"]


def _cli(env: dict, cwd: Path, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run([*_idp_command(), *args], env=env, cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"idp {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM (graceful), then SIGKILL; bounded either way."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass(frozen=True)
class Provider:
    issuer: str
    rp_client_id: str
    rp_client_secret: str
    svc_client_id: str
    svc_client_secret: str
    log_path: Path
    cli_env: dict = field(default_factory=dict, repr=False)
    cwd: Path | None = None

    def cli_json(self, *args: str) -> dict:
        """Run an `idp` command against this provider's database; its --json output."""
        return json.loads(_cli(self.cli_env, self.cwd, *args, "--json"))

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """A running `idp serve` (gunicorn, one worker) on SQLite in a temporary folder."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("idp-interop")
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update({
        "IDP_HOST": "127.0.0.1",
        "IDP_PORT": str(port),
        "IDP_ISSUER": issuer,
        "IDP_DATABASE_URL": f"sqlite:///{tmp}/idp.db",
        "IDP_KEYS_DIR": str(tmp / "keys"),
        "IDP_WORKERS": "1",
        "IDP_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PYTHONUNBUFFERED": "1",
        # Back-channel logout posts to a receiver the test starts on loopback.
        "IDP_OUTBOUND_ALLOW": "127.0.0.1/32",
    })

    _cli(env, tmp, "db", "upgrade")
    _cli(env, tmp, "users", "create", "--email", "alice@example.com", "--username", "alice",
         "--password-stdin", stdin=PASSWORD + "\n")
    rp = json.loads(_cli(env, tmp, "clients", "create", "--name", "rp", "--redirect-uri",
                         REDIRECT_URI, "--first-party", "--json"))
    svc = json.loads(_cli(env, tmp, "clients", "create", "--name", "svc", "--grant-type",
                          "client_credentials", "--scope", "api:read", "--json"))

    log_path = tmp / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*_idp_command(), "serve"], env=env, cwd=tmp, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    info = Provider(issuer, rp["client_id"], rp["client_secret"], svc["client_id"],
                    svc["client_secret"], log_path, env, tmp)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with requests.Session() as http:
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"idp serve exited with {proc.returncode}:\n{info.log()}")
                try:
                    if http.get(f"{issuer}/healthz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"idp serve not healthy after {STARTUP_TIMEOUT}s:\n"
                                         f"{info.log()}")
                time.sleep(0.2)
        yield info
    finally:
        _stop(proc)


@pytest.fixture
def run_rp(provider):
    """Run rp.mjs with the given input (issuer added); returns its JSON output."""

    def run(**fields) -> dict:
        payload = {"issuer": provider.issuer, **fields}
        proc = subprocess.run(["node", str(RP_SCRIPT)],
                              env={**os.environ, "RP_INPUT": json.dumps(payload)}, cwd=HERE,
                              capture_output=True, text=True, timeout=RP_TIMEOUT, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"openid-client rejected the provider in mode {fields.get('mode')}:\n"
                                 f"{proc.stderr.strip()}\n--- server log ---\n{provider.log()}")
        return json.loads(proc.stdout)

    return run
