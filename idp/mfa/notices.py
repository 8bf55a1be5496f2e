"""Email notices when a second factor is added or removed (sent after the commit), in the
person's own language (their `locale`; English when none is set or shipped)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import object_session

from idp.accounts.account_mail import Message
from idp.accounts.person_mail import deliver, in_persons_language
from idp.models.accounts import User


def _factor(kind: str, name: str | None) -> str:
    return _("Passkey “%(name)s”", name=name) if kind == "passkey" else _("An authenticator app")


def _texts(change: str, what: str) -> tuple[str, str]:
    warning = _("If this was not you, change your password and contact your administrator "
                "at once.")
    if change == "added":
        return (_("A sign-in method was added to your account"),
                _("%(what)s was added to your account.", what=what) + "\n\n" + warning)
    if change == "removed":
        return (_("A sign-in method was removed from your account"),
                _("%(what)s was removed from your account.", what=what) + "\n\n" + warning)
    return (_("Your two-step verification was reset"),
            _("An administrator reset the two-step verification of your account.") + "\n"
            + _("Set up a new authenticator the next time you sign in.") + "\n\n"
            + _("If you did not ask for this, contact your administrator at once."))


def notify_factor_change(mailer, user: User, change: str, kind: str = "totp",
                         name: str | None = None) -> None:
    """Tell the person (`change`: added, removed or reset; `kind`: totp or passkey, with its
    `name`); a missing address or a mail failure never breaks the request."""
    if mailer is None or not user.email:
        return
    with in_persons_language(user.locale) as language:
        subject, body = _texts(change, _factor(kind, name))
    deliver(mailer, object_session(user), user.tenant_id, Message(user.email, subject, body),
            language)
