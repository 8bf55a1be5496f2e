"""Administration: the JSON API (`idp.admin.api`) and the HTML console (`idp.admin.ui`)."""

from __future__ import annotations


def register(app) -> None:
    """Blueprints of the admin area (issue 5)."""
    from idp.admin.api import bp as api_bp
    from idp.admin.openapi import bp as openapi_bp
    from idp.admin.ui import bp as ui_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(openapi_bp)
    app.register_blueprint(ui_bp)
