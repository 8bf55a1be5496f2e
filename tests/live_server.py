"""A real `idp serve` process for tests that need HTTP on loopback (bounded in time)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveIdp:
    def __init__(self, tmp_path, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "IDP_PORT": str(self.port), "IDP_ISSUER": self.url,
                    "IDP_DATABASE_URL": f"sqlite:///{tmp_path}/live.db",
                    "IDP_KEYS_DIR": str(tmp_path / "keys"), "IDP_WORKERS": "1",
                    "IDP_BOOTSTRAP_ADMIN_PASSWORD": "Bootstrap-Operator-7!", **env}
        self.process: subprocess.Popen | None = None

    def cli(self, *args, stdin: str | None = None) -> str:
        result = subprocess.run([sys.executable, "-m", "idp.cli", *args], env=self.env,
                                input=stdin, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def cli_json(self, *args, stdin: str | None = None) -> dict:
        return json.loads(self.cli(*args, "--json", stdin=stdin))

    def start(self) -> LiveIdp:
        self.cli("db", "upgrade")
        self.process = subprocess.Popen([sys.executable, "-m", "idp.cli", "serve"], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            if self.process.poll() is not None:
                raise RuntimeError("idp serve exited during start-up")
            time.sleep(0.2)
        raise RuntimeError("idp serve did not become healthy in 30 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
