"""The `idp` command line. Errors: non-zero exit, one line on stderr, no traceback.

Commands live in one module per area; importing them registers them on `main`.
"""

from __future__ import annotations

import click

from idp.cli.base import main, with_app

# --- database ------------------------------------------------------------------------

@main.group()
def db():
    """Database migrations."""


def run_upgrade(app) -> None:
    """Apply migrations to head, then the idempotent first-start setup."""
    from idp.bootstrap import bootstrap
    from idp.database import database_deadline
    from idp.extensions import db as database
    from idp.schema import database_revision, head_revision, migration_lock

    # Bootstrap under the same lock: two first starts must not both create the first admin.
    with migration_lock(database.engine, on_wait=_say_waiting):
        # At head already (every start but the first after an update): Alembic, and its
        # share of start-up and of the memory the workers inherit, is not loaded at all.
        if database_revision(database.engine) != head_revision():
            # A migration may build an index over millions of rows (0014): no per-wait
            # client deadline for it (each such migration lifts its statement_timeout).
            with database_deadline(None):
                _migrate(app)
        result = bootstrap(database.session, app.extensions["idp"].config,
                           app.extensions["idp"].keyring)
    if result.admin_password:
        click.echo(f"Bootstrap admin created: {result.admin_email}")
        click.echo(f"One-time password (shown only now): {result.admin_password}")


def _migrate(app) -> None:
    from flask_migrate import upgrade

    from idp.app_setup import enable_migrations

    upgrade(directory=enable_migrations(app).directory)


def _say_waiting() -> None:
    click.echo("waiting for another 'idp db upgrade' (or starting instance) to finish...",
               err=True)


@db.command("upgrade")
@with_app
def db_upgrade(app):
    """Apply migrations (and create keys, default tenant and first admin when missing)."""
    run_upgrade(app)
    click.echo("Database is up to date.")


# --- serve -----------------------------------------------------------------------------

@main.command()
def serve():
    """Run the production server (gunicorn) with IDP_WORKERS workers."""
    from idp.server_runner import prepare_metrics_dir

    # Before the app (and any Prometheus metric) exists, so workers share their samples.
    prepare_metrics_dir()
    _serve()


@with_app
def _serve(app):
    from idp.logging_setup import configure_logging
    from idp.server_runner import run_gunicorn

    configure_logging(app.extensions["idp"].config.log_level)

    config = app.extensions["idp"].config
    if config.database_url.startswith("sqlite"):
        run_upgrade(app)
    else:
        from idp.bootstrap import bootstrap
        from idp.extensions import db as database
        from idp.schema import migration_lock

        with migration_lock(database.engine, on_wait=_say_waiting):
            result = bootstrap(database.session, config, app.extensions["idp"].keyring)
        if result.admin_password:
            click.echo(f"Bootstrap admin created: {result.admin_email}")
            click.echo(f"One-time password (shown only now): {result.admin_password}")
    click.echo(f"idp listening on http://{config.host}:{config.port} (issuer {config.issuer})")
    _quiesce_master(app)
    run_gunicorn(config)


def _quiesce_master(app) -> None:
    # Nothing may hold a database connection across gunicorn's fork: workers open their own.
    from idp.events.worker import stop_background_publisher
    from idp.extensions import db as database

    stop_background_publisher(app)
    database.session.remove()
    database.engine.dispose()




if __name__ == "__main__":
    main()


def _register_commands() -> None:
    # Importing a module registers its commands: clients, keys, users; backup; users_admin
    # (disable/enable/unlock/sessions); mfa (`idp users mfa`); audit, events, users_bulk
    # (issue 5: `idp audit verify`, `idp events publish`, `idp users import|export`);
    # webhooks (issue 19).
    from idp.cli import (  # noqa: F401
        audit,
        backup,
        clients,
        events,
        keys,
        mfa,
        providers,
        users,
        users_admin,
        users_bulk,
        webhooks,
    )


_register_commands()
