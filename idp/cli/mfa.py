"""`idp users mfa reset USER --reason R`: the operator's reset for a lost device."""

from __future__ import annotations

import click

from idp.cli.base import with_app
from idp.cli.users import users
from idp.request_context import system_context


@users.group("mfa")
def users_mfa():
    """Two-step verification of a person."""


@users_mfa.command("reset")
@click.argument("user")
@click.option("--reason", required=True, help="Why (kept in the audit log).")
@with_app
def users_mfa_reset(app, user, reason):
    """Remove every second factor of USER (username, email or id); audited with the reason."""
    from idp.accounts.users import query_user
    from idp.extensions import db as database
    from idp.mfa.notices import notify_factor_change
    from idp.mfa.reset import reset_mfa

    person = query_user(database.session, user)
    result = reset_mfa(database.session, system_context(), person, reason)
    database.session.commit()
    notify_factor_change(app.extensions["idp"].mailer, person, "reset")
    click.echo(f"MFA reset for {person.username}: removed {result.totp} authenticator app(s), "
               f"{result.passkeys} passkey(s), {result.backup_codes} backup code(s).")
