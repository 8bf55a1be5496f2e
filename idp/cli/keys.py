"""`idp keys ...`"""

from __future__ import annotations

import click

from idp.cli.base import main, with_app
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
