"""`idp users disable|enable|unlock USER`, `idp users require-password-change USER`,
`idp users set-password USER --password-stdin`, `idp users sessions revoke USER`
(USER = username, email or id)."""

from __future__ import annotations

import click

from idp.cli.base import with_app
from idp.cli.users import users
from idp.request_context import system_context


def _user(ref: str):
    from idp.accounts.users import query_user
    from idp.extensions import db as database

    return query_user(database.session, ref)


@users.command("disable")
@click.argument("user")
@with_app
def users_disable(app, user):
    """Disable an account: no login; its sessions and refresh tokens end at once."""
    from idp.accounts.administration import disable_user
    from idp.extensions import db as database

    person = _user(user)
    changed = person.is_active
    disable_user(database.session, system_context(), person)
    database.session.commit()
    click.echo(f"{person.username}: {'disabled' if changed else 'already disabled'}")


@users.command("enable")
@click.argument("user")
@with_app
def users_enable(app, user):
    """Let a disabled account log in again."""
    from idp.accounts.administration import enable_user
    from idp.extensions import db as database

    person = _user(user)
    changed = not person.is_active
    enable_user(database.session, system_context(), person)
    database.session.commit()
    click.echo(f"{person.username}: {'enabled' if changed else 'already enabled'}")


@users.command("unlock")
@click.argument("user")
@with_app
def users_unlock(app, user):
    """Lift a lockout after too many failed logins."""
    from idp.accounts.administration import unlock_user
    from idp.extensions import db as database

    person = _user(user)
    changed = unlock_user(database.session, system_context(), person)
    database.session.commit()
    click.echo(f"{person.username}: {'unlocked' if changed else 'was not locked'}")


@users.command("require-password-change")
@click.argument("user")
@with_app
def users_require_password_change(app, user):
    """Make the person choose a new password at their next login."""
    from idp.accounts.password_changes import require_password_change
    from idp.extensions import db as database

    person = _user(user)
    require_password_change(database.session, system_context(), person)
    database.session.commit()
    click.echo(f"{person.username}: must change the password at the next login")


@users.command("set-password")
@click.argument("user")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the new password from standard input.")
@click.option("--temporary", is_flag=True, help="The person must change it at the next login.")
@with_app
def users_set_password(app, user, password_stdin, temporary):
    """Set a person's password as an administrator (policy and history apply; audited)."""
    import sys

    from idp.accounts.password_changes import ChangedBy, change_password, require_password_change
    from idp.extensions import db as database

    person = _user(user)
    password = sys.stdin.readline().rstrip("\r\n")
    ctx = system_context()
    ended = change_password(database.session, ctx, app.extensions["idp"].config, person,
                            password, changed_by=ChangedBy.ADMIN)
    if temporary:
        require_password_change(database.session, ctx, person)
    database.session.commit()
    if person.email:
        from idp.accounts.account_mail import password_changed_mail
        from idp.accounts.person_mail import deliver, in_persons_language

        with in_persons_language(person.locale) as language:
            notice = password_changed_mail(person.email, ended)
        deliver(app.extensions["idp"].mailer, database.session, person.tenant_id, notice,
                language)
    click.echo(f"{person.username}: password set" + (" (temporary)" if temporary else "")
               + (f"; {ended} session(s) ended" if ended else ""))


@users.group("sessions")
def users_sessions():
    """A person's browser sessions."""


@users_sessions.command("revoke")
@click.argument("user")
@with_app
def users_sessions_revoke(app, user):
    """End every session of a person and revoke their refresh tokens."""
    from idp.accounts.account_admin import end_all_sessions
    from idp.extensions import db as database

    person = _user(user)
    count = end_all_sessions(database.session, system_context(), person, reason="admin_revoked")
    database.session.commit()
    click.echo(f"{person.username}: {count} session(s) ended")
