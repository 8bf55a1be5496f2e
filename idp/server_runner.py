"""`idp serve`: gunicorn with settings suited to an identity provider.

gthread workers keep connections alive (relying parties and load balancers reuse them);
graceful_timeout lets in-flight requests finish on SIGTERM; no preload, so every worker
opens its own database pool.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from idp.config import Config


def gunicorn_options(config: Config) -> dict:
    return {
        "bind": f"{config.host}:{config.port}",
        "workers": config.workers,
        "worker_class": "gthread",
        "threads": 4,
        "keepalive": 5,
        "timeout": 30,
        "graceful_timeout": 20,
        "max_requests": 0,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "forwarded_allow_ips": "*" if config.trusted_proxies else "127.0.0.1",
        "proxy_allow_ips": "127.0.0.1",
        "worker_exit": _flush_usage_on_exit,
    }


def _flush_usage_on_exit(server, worker) -> None:
    """Write the worker's in-memory client usage counters before it goes."""
    from idp.extensions import db
    from idp.oauth.usage_store import flush_usage
    from idp.wsgi import app

    with app.app_context():
        flush_usage(db.session, app.extensions["idp"].server.usage)


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
