"""`idp keys ...`"""

from __future__ import annotations

import click

from idp.cli.base import fail, main, with_app
from idp.request_context import system_context

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
@click.option("--force", is_flag=True,
              help="Emergency only: promote a next key relying parties may not have fetched yet.")
@with_app
def keys_rotate(app, force: bool):
    """Promote the published next key; retire the active one once its tokens expire."""
    from idp.errors import Conflict
    from idp.extensions import db as database
    from idp.oauth.keys.signing import JWKS_MAX_AGE, rotate_signing_keys

    svc = app.extensions["idp"]
    try:
        promoted = rotate_signing_keys(database.session, svc.keyring, system_context(),
                                       svc.config.max_token_ttl, force=force)
    except Conflict as exc:
        fail(f"{exc.message} Emergency: idp keys rotate --force (docs/operations.md).")
    database.session.commit()
    if force:
        click.echo(f"warning: forced rotation; relying parties that cached the JWKS less than "
                   f"{JWKS_MAX_AGE} s ago reject the new key's tokens until they refetch it",
                   err=True)
    click.echo("now signing with: " + ", ".join(promoted))
