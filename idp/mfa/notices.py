"""Email notices when a second factor is added or removed (sent after the commit)."""

from __future__ import annotations

from idp.models.accounts import User

TEXTS = {
    "added": ("A sign-in method was added to your account",
              "{what} was added to your account{detail}.\n\nIf this was not you, change your "
              "password and contact your administrator at once."),
    "removed": ("A sign-in method was removed from your account",
                "{what} was removed from your account{detail}.\n\nIf this was not you, change "
                "your password and contact your administrator at once."),
    "reset": ("Your two-step verification was reset",
              "An administrator reset the two-step verification of your account.\n"
              "Set up a new authenticator the next time you sign in.\n\nIf you did not ask "
              "for this, contact your administrator at once."),
}


def notify_factor_change(mailer, user: User, change: str, what: str = "", detail: str = "") -> None:
    """Tell the person; a missing address or a mail failure never breaks the request."""
    if mailer is None or not user.email:
        return
    subject, body = TEXTS[change]
    mailer.send(user.email, subject,
                body.format(what=what, detail=f" ({detail})" if detail else ""))
