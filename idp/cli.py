"""The `idp` command line. Errors: non-zero exit, one line on stderr, no traceback."""

from __future__ import annotations

import json
import sys
from functools import wraps

import click
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from idp.config import ConfigError
from idp.errors import DomainError
from idp.request_context import system_context


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def with_app(func):
    """Run the command inside an app context; turn known errors into one stderr line."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        from idp import create_app
        from idp.config import load_dotenv_file

        try:
            load_dotenv_file()
            app = create_app()
            with app.app_context():
                return func(app, *args, **kwargs)
        except ConfigError as exc:
            _fail(str(exc))
        except DomainError as exc:
            _fail(exc.message)
        except OperationalError as exc:
            _fail(f"database unavailable or not migrated ({exc.orig.__class__.__name__}); "
                  "run 'idp db upgrade'")
        except SQLAlchemyError as exc:
            _fail(f"database error: {exc.__class__.__name__}")
        except OSError as exc:
            _fail(str(exc))
        except click.exceptions.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - the contract is one line, no traceback
            _fail(f"{exc.__class__.__name__}: {exc}")

    return wrapper


@click.group()
def main():
    """idp: an OAuth 2 / OpenID Connect identity provider."""


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


# --- users -------------------------------------------------------------------------------

@main.group()
def users():
    """Manage people."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--role", "roles", multiple=True)
@click.option("--tenant")
@click.option("--json", "as_json", is_flag=True)
@with_app
def users_create(app, email, username, password_stdin, roles, tenant, as_json):
    """Create a person (prints a generated password once unless --password-stdin)."""
    import secrets

    from idp.accounts.roles import assign_role
    from idp.accounts.tenants import query_tenant
    from idp.accounts.users import create_user
    from idp.extensions import db as database

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(15)
    tenant_row = query_tenant(database.session, tenant)
    user = create_user(database.session, system_context(), tenant_row, email=email, username=username,
                       password=password)
    for role in roles:
        assign_role(database.session, system_context(), user, role, tenant_row)
    database.session.commit()
    out = {"id": str(user.id), "username": user.username, "email": user.email,
           "tenant": tenant_row.slug}
    if generated:
        out["password"] = generated
    click.echo(json.dumps(out) if as_json else "\n".join(f"{k}: {v}" for k, v in out.items()))


# --- clients -----------------------------------------------------------------------------

@main.group()
def clients():
    """Manage OAuth clients (relying parties and services)."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--grant-type", "grant_types", multiple=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "post_logout_uris", multiple=True)
@click.option("--scope", "scopes", multiple=True)
@click.option("--audience", "audiences", multiple=True, help="Allowed RFC 8707 resources.")
@click.option("--public", is_flag=True)
@click.option("--first-party", is_flag=True)
@click.option("--auth-method")
@click.option("--jwks-uri")
@click.option("--jwks-file", type=click.Path(exists=True, dir_okay=False))
@click.option("--token-alg", default="RS256", show_default=True)
@click.option("--role", "roles", multiple=True)
@click.option("--tenant")
@click.option("--json", "as_json", is_flag=True)
@with_app
def clients_create(app, name, grant_types, redirect_uris, post_logout_uris, scopes, audiences,
                   public, first_party, auth_method, jwks_uri, jwks_file, token_alg, roles,
                   tenant, as_json):
    """Register a client; its secret is printed once."""
    from idp.accounts.tenants import query_tenant
    from idp.extensions import db as database
    from idp.oauth.clients import ClientSpec, create_client

    jwks = None
    if jwks_file:
        with open(jwks_file) as handle:
            try:
                jwks = json.load(handle)
            except ValueError:
                _fail(f"{jwks_file} is not JSON")
    grants = list(grant_types) or (["authorization_code", "refresh_token"] if redirect_uris
                                   else ["client_credentials"])
    spec = ClientSpec(name=name, grant_types=grants, redirect_uris=list(redirect_uris),
                      post_logout_redirect_uris=list(post_logout_uris),
                      scopes=[s for item in scopes for s in item.split()], public=public,
                      first_party=first_party, auth_method=auth_method, jwks=jwks,
                      jwks_uri=jwks_uri, roles=list(roles), audiences=list(audiences),
                      token_alg=token_alg)
    tenant_row = query_tenant(database.session, tenant)
    client, secret = create_client(database.session, system_context(), app.extensions["idp"].keyring,
                                   tenant_row, spec)
    database.session.commit()
    out = {"client_id": client.id, "client_secret": secret}
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"client_id: {client.id}")
        if secret:
            click.echo(f"client_secret: {secret}  (shown only now)")


@clients.group("secret")
def clients_secret():
    """Client secrets."""


@clients_secret.command("rotate")
@click.argument("client_id")
@click.option("--grace", default=86400, show_default=True, type=int,
              help="Seconds the previous secret keeps working.")
@click.option("--json", "as_json", is_flag=True)
@with_app
def clients_secret_rotate(app, client_id, grace, as_json):
    """Issue a new secret; the old one works for --grace seconds more."""
    from idp.extensions import db as database
    from idp.oauth.clients import query_client_or_404, rotate_client_secret

    client = query_client_or_404(database.session, client_id)
    secret = rotate_client_secret(database.session, system_context(), app.extensions["idp"].keyring,
                                  client, grace)
    database.session.commit()
    out = {"client_id": client.id, "client_secret": secret, "previous_valid_for": grace}
    click.echo(json.dumps(out) if as_json else f"client_secret: {secret}  (shown only now)")


@clients.command("revoke")
@click.argument("client_id")
@with_app
def clients_revoke(app, client_id):
    """Revoke a client: no new tokens, its tokens inactive at once."""
    from idp.extensions import db as database
    from idp.oauth.clients import query_client_or_404, revoke_client

    revoke_client(database.session, system_context(), query_client_or_404(database.session, client_id))
    database.session.commit()
    click.echo(f"revoked {client_id}")


# --- keys ----------------------------------------------------------------------------------

@main.group()
def keys():
    """Signing keys."""


@keys.command("list")
@with_app
def keys_list(app):
    """Every signing key with its state."""
    from sqlalchemy import select

    from idp.extensions import db as database
    from idp.models.keys import SigningKey

    rows = database.session.execute(select(SigningKey).order_by(SigningKey.created_at)).scalars()
    for row in rows:
        until = row.publish_until.isoformat() if row.publish_until else "-"
        created = row.created_at.strftime("%Y-%m-%d %H:%M")
        click.echo(f"{row.kid}  {row.alg:5}  {row.status:7}  created {created}  "
                   f"published until {until}")


@keys.command("rotate")
@with_app
def keys_rotate(app):
    """Promote the published next key; retire the active one once its tokens expire."""
    from idp.extensions import db as database
    from idp.oauth.signing_keys import rotate_signing_keys

    svc = app.extensions["idp"]
    promoted = rotate_signing_keys(database.session, svc.keyring, system_context(),
                                   svc.config.max_token_ttl)
    database.session.commit()
    click.echo("now signing with: " + ", ".join(promoted))


if __name__ == "__main__":
    main()
