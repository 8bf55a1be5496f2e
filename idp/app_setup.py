"""Wiring for `create_app`: extensions, services, blueprints, CLI."""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from idp.accounts.passwords import use_hashing
from idp.config import Config
from idp.database import engine_options, install_deadline, prepare_sqlite_path
from idp.events.worker import start_background_publisher
from idp.extensions import csrf, db, limiter
from idp.keyring import Keyring
from idp.services import Services

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _flask_settings(app: Flask, config: Config, keyring: Keyring) -> None:
    from idp.http import FLOW_COOKIE, cookie_name

    url = prepare_sqlite_path(config.database_url, Path.cwd())
    app.config.update(
        SECRET_KEY=keyring.cookie_key,
        SQLALCHEMY_DATABASE_URI=url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(url),
        SESSION_COOKIE_NAME=cookie_name(FLOW_COOKIE, config.issuer_is_https),
        SESSION_COOKIE_PATH="/",  # __Host- needs Path=/ whatever APPLICATION_ROOT says
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.issuer_is_https,
        PERMANENT_SESSION_LIFETIME=config.session_absolute_timeout,
        WTF_CSRF_TIME_LIMIT=3600,
        WTF_CSRF_SSL_STRICT=False,
        RATELIMIT_STORAGE_URI=_limiter_storage(config),
        RATELIMIT_STORAGE_OPTIONS={"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        RATELIMIT_KEY_PREFIX=config.redis_prefix,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=False,
        # A sliding window: "5 per 15 minutes" never allows 10 across a window edge.
        RATELIMIT_STRATEGY="moving-window",
        MAX_CONTENT_LENGTH=1024 * 1024,
        TESTING=config.testing,
    )


def _limiter_storage(config: Config) -> str:
    return config.redis_url or "memory://"


def configure_app(app: Flask, config: Config) -> None:
    from idp import http
    from idp.oauth.clients.initial_access_tokens import RegistrationSwitch
    from idp.oauth.discovery import MetadataDocuments
    from idp.oauth.keys.signing import KeyCache
    from idp.oauth.server import build_server

    use_hashing(config.password_hashing)
    keyring = Keyring.from_dir(config.keys_dir)
    _flask_settings(app, config, keyring)
    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    services = Services(config=config, keyring=keyring)
    app.extensions["idp"] = services
    with app.app_context():
        engine = db.engine
    install_deadline(engine)
    services.engine = engine
    services.keys = KeyCache(keyring, lambda: Session(engine))
    services.server = build_server(app, config, keyring, services.keys)
    services.registration = RegistrationSwitch(lambda: Session(engine))
    services.metadata = MetadataDocuments(config, services.registration)
    from idp.mail import Mailer

    services.mailer = Mailer(config.smtp_url, config.mail_from)
    http.install(app)
    from idp import branding_views, i18n, rejection_audit

    i18n.install(app)
    branding_views.install(app)

    rejection_audit.install(app)
    _register_blueprints(app)
    _install_fast_paths(app, services)
    _install_operations(app, config)  # last: its WSGI wrappers see every request
    _publish_events_when_serving(app, config)


def _install_fast_paths(app: Flask, services: Services) -> None:
    """Discovery and JWKS from memory, successful client-credentials token requests and
    introspection of active client tokens, ahead of Flask (counted in the request metrics)."""
    from idp.fast_paths import FastPaths
    from idp.metrics import REQUESTS
    from idp.oauth.fast.introspection import IntrospectionFastPath
    from idp.oauth.fast.token import ClientCredentialsFastPath

    endpoints = {"/jwks.json": "oauth.jwks"}

    def count(path: str, status: int) -> None:
        REQUESTS.labels(endpoints.get(path, "oauth.discovery"), "GET", str(status)).inc()

    app.wsgi_app = ClientCredentialsFastPath(app.wsgi_app, services)
    app.wsgi_app = IntrospectionFastPath(app.wsgi_app, services)
    app.wsgi_app = FastPaths(app.wsgi_app, services, services.metadata.current, count)


def _install_operations(app: Flask, config: Config) -> None:
    """Metrics, the JSON request log, 503 on database outages, and proxy headers."""
    from idp import logging_setup, metrics, ops

    metrics.install(app)
    ops.install(app)
    if config.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The scheme and host the client used, from our own proxies only. X-Forwarded-For
        # stays with http.client_ip(), which applies the same hop count.
        hops = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=0, x_proto=hops, x_host=hops, x_port=hops)
    logging_setup.install(app, config.trusted_proxies)


def _register_blueprints(app: Flask) -> None:
    from idp.oauth.device_views import bp as device_bp
    from idp.oauth.registration_views import bp as registration_bp
    from idp.oauth.views import bp as oauth_bp
    from idp.ops import bp as ops_bp
    from idp.web.mfa_account import bp as mfa_account_bp
    from idp.web.mfa_views import bp as mfa_bp
    from idp.web.views import bp as web_bp

    app.register_blueprint(oauth_bp)
    app.register_blueprint(device_bp)
    app.register_blueprint(registration_bp)
    app.register_blueprint(web_bp)
    _register_account_pages(app)
    app.register_blueprint(mfa_bp)
    app.register_blueprint(mfa_account_bp)
    app.register_blueprint(ops_bp)
    from idp.admin import register as register_admin

    register_admin(app)  # /api/v1, /api/openapi.json, /admin (issue 5)
    from idp.scim import register as register_scim

    register_scim(app)  # /scim/v2 (issue 15)
    # Last: its login step (linking a proven account) runs after MFA and password change.
    from idp.web.federation_views import bp as federation_bp

    app.register_blueprint(federation_bp)


def _register_account_pages(app: Flask) -> None:
    """Account, self-service pages and the 429 answer (issue 4)."""
    from idp import rate_limits
    from idp.web.account_export import bp as export_bp
    from idp.web.account_views import bp as account_bp
    from idp.web.self_service_views import bp as self_service_bp

    app.register_blueprint(account_bp)
    app.register_blueprint(self_service_bp)
    app.register_blueprint(export_bp)
    rate_limits.install(app)


def _publish_events_when_serving(app: Flask, config: Config) -> None:
    """Start the events worker with the first request a process serves (each gunicorn
    worker), never in CLI commands; Redis locks or row claims keep the workers apart."""
    if config.testing:
        return
    started = threading.Event()
    lock = threading.Lock()

    @app.before_request
    def _start_publisher():
        if started.is_set():
            return
        with lock:
            if not started.is_set():
                start_background_publisher(app)
                started.set()


def enable_migrations(app: Flask):
    """Flask-Migrate (Alembic) on this app, for `idp db upgrade` and `flask db ...`.

    Not part of create_app: Alembic and its templates are a tenth of a worker's memory
    and a serving worker never migrates.
    """
    from flask_migrate import Migrate

    if "migrate" not in app.extensions:
        Migrate(app, db, directory=str(MIGRATIONS_DIR))
    return app.extensions["migrate"]
