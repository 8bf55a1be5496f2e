"""Wiring for `create_app`: extensions, services, blueprints, CLI."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from idp.config import Config
from idp.database import engine_options, prepare_sqlite_path
from idp.extensions import csrf, db, limiter, migrate
from idp.keyring import Keyring
from idp.services import Services

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _flask_settings(app: Flask, config: Config, keyring: Keyring) -> None:
    url = prepare_sqlite_path(config.database_url, Path.cwd())
    app.config.update(
        SECRET_KEY=keyring.cookie_key,
        SQLALCHEMY_DATABASE_URI=url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(url),
        SESSION_COOKIE_NAME="idp_flow",
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
        MAX_CONTENT_LENGTH=1024 * 1024,
        TESTING=config.testing,
    )


def _limiter_storage(config: Config) -> str:
    return config.redis_url or "memory://"


def configure_app(app: Flask, config: Config) -> None:
    from idp import http
    from idp.oauth.server import build_server
    from idp.oauth.signing_keys import KeyCache

    keyring = Keyring.from_dir(config.keys_dir)
    _flask_settings(app, config, keyring)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    csrf.init_app(app)
    limiter.init_app(app)
    services = Services(config=config, keyring=keyring)
    app.extensions["idp"] = services
    with app.app_context():
        engine = db.engine
    services.keys = KeyCache(keyring, lambda: Session(engine))
    services.server = build_server(app, config, keyring, services.keys)
    from idp.mail import Mailer

    services.mailer = Mailer(config.smtp_url, config.mail_from)
    http.install(app)
    _register_blueprints(app)


def _register_blueprints(app: Flask) -> None:
    from idp.oauth.views import bp as oauth_bp
    from idp.ops import bp as ops_bp
    from idp.web.views import bp as web_bp

    app.register_blueprint(oauth_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(ops_bp)
