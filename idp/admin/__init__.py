"""Administration: the JSON API (`idp.admin.api`) and the HTML console (`idp.admin.ui`)."""

from __future__ import annotations


def register(app) -> None:
    """Blueprints of the admin area (issue 5), and the events worker when serving."""
    from idp.admin.api import bp as api_bp
    from idp.admin.openapi import bp as openapi_bp
    from idp.admin.self_export import bp as export_bp
    from idp.admin.ui import bp as ui_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(openapi_bp)
    app.register_blueprint(ui_bp)
    if "account_export.account_export" not in app.view_functions and not any(
            r.rule == "/account/export" for r in app.url_map.iter_rules()):
        app.register_blueprint(export_bp)
    if not app.extensions["idp"].config.testing:
        _publish_events_when_serving(app)


def _publish_events_when_serving(app) -> None:
    """Start the events worker with the first request a process serves (each gunicorn
    worker), never in CLI commands; Redis locks or row claims keep the workers apart."""
    import threading

    started = threading.Event()
    lock = threading.Lock()

    @app.before_request
    def _start_publisher():
        if started.is_set():
            return
        with lock:
            if not started.is_set():
                from idp.events.publisher import start_background_publisher

                start_background_publisher(app)
                started.set()
