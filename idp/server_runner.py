"""`idp serve`: gunicorn with settings suited to an identity provider.

gthread workers keep connections alive (relying parties and load balancers reuse them)
and answer health probes on threads of their own (idp/probe_worker.py);
graceful_timeout lets in-flight requests finish on SIGTERM, and SIGHUP replaces the
workers one generation at a time without dropping a request; no preload, so every
worker opens its own database pool. Each setting is explained in docs/deployment.md.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

from idp.config import Config

METRICS_TMP_PREFIX = "idp-metrics-"
THREADS = 4  # per worker
# How long a login waits for a password-hash place before 503 + Retry-After: a burst of
# people signing in at once queues for a few hashes' time; a sustained flood is refused.
HASH_WAIT = 5.0


def gunicorn_options(config: Config) -> dict:
    return {
        "bind": f"{config.host}:{config.port}",
        "workers": config.workers,
        # gthread, with /healthz, /readyz and the key documents on threads of their own.
        "worker_class": "idp.probe_worker.ProbeThreadWorker",
        "threads": THREADS,
        "keepalive": 5,
        "timeout": 30,
        "graceful_timeout": 20,
        "max_requests": 0,
        # Unused, and one fixed path per user would be shared by every instance on a host.
        "control_socket_disable": True,
        # Our own JSON request line replaces gunicorn's access log (idp/logging_setup.py).
        "accesslog": None,
        "logger_class": NoAccessLogger,
        "errorlog": "-",
        "loglevel": "info",
        "logconfig_dict": _json_logconfig(config.log_level),
        "child_exit": _child_exit,
        "forwarded_allow_ips": "*" if config.trusted_proxies else "127.0.0.1",
        "proxy_allow_ips": "127.0.0.1",
        "worker_exit": _flush_usage_on_exit,
        "post_worker_init": lambda worker: bound_worker_hashing(config.workers),
    }


def hash_slots(workers: int, cores: int, threads: int = THREADS) -> tuple[int, int]:
    """(running, waiting) password hashes per worker: together the workers hash on at most
    every core, and at least half of each worker's threads stay free for token, UserInfo
    and key requests during a login flood (accounts/passwords.py, HashSlots)."""
    running = max(1, min(cores // max(1, workers), threads // 2))
    return running, max(1, threads // 2 - running)


def bound_worker_hashing(workers: int) -> None:
    from idp.accounts.passwords import bound_hashing

    bound_hashing(*hash_slots(workers, len(os.sched_getaffinity(0))), wait=HASH_WAIT)


class NoAccessLogger(GunicornLogger):
    """gunicorn's logger without the access log, which our JSON request line replaces.

    With a logging config set, gunicorn builds every request's access-log fields even
    though nothing writes them (a tenth of a token request's time under load).
    """

    def access(self, resp, req, environ, request_time):
        return


def _flush_usage_on_exit(server, worker) -> None:
    """Write the worker's in-memory client usage counters before it goes."""
    from idp.extensions import db
    from idp.oauth.clients.usage_store import flush_usage
    from idp.wsgi import app

    with app.app_context():
        flush_usage(db.session, app.extensions["idp"].server.usage)


def _json_logconfig(level: str) -> dict:
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": "idp.logging_setup.JsonFormatter"}},
        "filters": {"redact": {"()": "idp.logging_setup.RedactingFilter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "filters": ["redact"], "stream": "ext://sys.stderr"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
                    # Its lines carry the query string (codes, tokens): never written.
                    "gunicorn.access": {"level": "CRITICAL", "handlers": [],
                                        "propagate": False}},
    }


def _child_exit(server, worker) -> None:
    # A dead worker's live gauges must not linger in the multiprocess metrics.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def prepare_metrics_dir() -> str:
    """A fresh PROMETHEUS_MULTIPROC_DIR, set before any metric exists, so /metrics
    aggregates every worker. An operator-provided directory is emptied and reused."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    # After USR2 (docs/operations.md) gunicorn re-executes `idp serve` with GUNICORN_PID set
    # while the old generation still runs: its temporary folder goes when the old master
    # exits, and an operator's folder is still being written to.
    reexec = "GUNICORN_PID" in os.environ
    if path and reexec and Path(path).name.startswith(METRICS_TMP_PREFIX):
        path = None
    if path:
        if not reexec:
            shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, exist_ok=True)
    else:
        path = tempfile.mkdtemp(prefix=METRICS_TMP_PREFIX)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        master = os.getpid()
        # Removed when the master exits (workers exit through the same atexit hooks).
        atexit.register(lambda: os.getpid() == master and shutil.rmtree(path, ignore_errors=True))
    return path


class IdpGunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from idp.wsgi import app

        return app


def run_gunicorn(config: Config) -> None:
    """Blocks until the server stops."""
    IdpGunicorn(gunicorn_options(config)).run()
