"""A private, throwaway PostgreSQL cluster on a spare loopback port (never the shared one).

Started from the binaries under /usr/lib/postgresql/*/bin, stopped by its own PID.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.production.servers import free_port, wait_for


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PostgresCluster:
    """initdb + postgres under a temporary folder; trust auth for the `postgres` role."""

    def __init__(self):
        self.bin = _bin_dir()
        self.port = free_port()
        # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="idp-pg-"))
        self.proc: subprocess.Popen | None = None
        self.user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        auth = f"postgres:{password}" if password else "postgres"
        return f"postgresql+psycopg://{auth}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, timeout=120, user=self.user)

    def start(self) -> PostgresCluster:
        if self.bin is None:
            pytest.skip("PostgreSQL server binaries are not installed")
        if self.user:
            shutil.chown(self.root, self.user)
        data = self.root / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres",
                  "--auth=trust", "--no-sync", "-E", "UTF8")
        self.log = open(self.root / "server.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}",
             "-c", "fsync=off", "-c", "max_connections=40"],
            stdout=self.log, stderr=subprocess.STDOUT, user=self.user)
        wait_for(self._ready, 30, "private postgres")
        return self

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError((self.root / "server.log").read_text()[-2000:])
        done = subprocess.run([str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p",
                               str(self.port)], capture_output=True, timeout=10)
        return done.returncode == 0

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with psql (autocommit); returns its unaligned output."""
        # Over the Unix socket, which stays `trust` even after require_password().
        done = subprocess.run([str(self.bin / "psql"), "-h", str(self.root), "-p", str(self.port),
                               "-U", "postgres", "-d", database, "-XAtc", statement],
                              capture_output=True, text=True, timeout=60, check=True)
        return done.stdout.strip()

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL (without a password)."""
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def require_password(self, password: str) -> None:
        """TCP logins now need `password` (scram-sha-256)."""
        self.sql(f"ALTER ROLE postgres PASSWORD '{password}'")
        hba = self.root / "data" / "pg_hba.conf"
        lines = [line.replace("trust", "scram-sha-256") if line.startswith("host") else line
                 for line in hba.read_text().splitlines()]
        hba.write_text("\n".join(lines) + "\n")
        self.sql("SELECT pg_reload_conf()")

    def pause(self) -> None:
        """Freeze the postmaster, then each of its children (a frozen primary): every
        backend calls setsid, so a process group would not reach them."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        self._paused = self._children()
        for pid in self._paused:
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in [*getattr(self, "_paused", []), *self._children()]:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        os.kill(self.proc.pid, signal.SIGCONT)

    def _children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except (OSError, ValueError):
            return []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.resume()  # a paused server would never see the shutdown signal
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None:
            self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def pg_cluster():
    """A private PostgreSQL cluster for this test, stopped by PID afterwards."""
    cluster = PostgresCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()
