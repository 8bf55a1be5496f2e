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
    from flask_migrate import upgrade

    from idp.bootstrap import bootstrap
    from idp.extensions import db as database

    upgrade(directory=app.extensions["migrate"].directory)
    result = bootstrap(database.session, app.extensions["idp"].config,
                       app.extensions["idp"].keyring)
    if result.admin_password:
        click.echo(f"Bootstrap admin created: {result.admin_email}")
        click.echo(f"One-time password (shown only now): {result.admin_password}")


@db.command("upgrade")
@with_app
def db_upgrade(app):
    """Apply migrations (and create keys, default tenant and first admin when missing)."""
    run_upgrade(app)
    click.echo("Database is up to date.")


# --- serve -----------------------------------------------------------------------------

@main.command()
@with_app
def serve(app):
    """Run the production server (gunicorn) with IDP_WORKERS workers."""
    from idp.server_runner import run_gunicorn

    config = app.extensions["idp"].config
    if config.database_url.startswith("sqlite"):
        run_upgrade(app)
    else:
        from idp.bootstrap import bootstrap
        from idp.extensions import db as database

        result = bootstrap(database.session, config, app.extensions["idp"].keyring)
        if result.admin_password:
            click.echo(f"Bootstrap admin created: {result.admin_email}")
            click.echo(f"One-time password (shown only now): {result.admin_password}")
    click.echo(f"idp listening on http://{config.host}:{config.port} (issuer {config.issuer})")
    run_gunicorn(config)




if __name__ == "__main__":
    main()


def _register_commands() -> None:
    from idp.cli import clients, keys, users  # noqa: F401 - registers the commands


_register_commands()
