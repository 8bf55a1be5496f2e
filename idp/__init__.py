"""idp: an OAuth 2 / OpenID Connect identity provider."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from idp.config import Config, load_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Config | dict | None = None) -> Flask:
    """Build the application; `config` is a Config or a dict of IDP_* overrides."""
    from idp.app_setup import configure_app

    if not isinstance(config, Config):
        config = load_config(config)
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                static_folder=str(PROJECT_ROOT / "static"), static_url_path="/static")
    configure_app(app, config)
    return app
