"""The texts of the mails sent to people; the adapter sends them after the commit."""

from __future__ import annotations

from dataclasses import dataclass

# gettext of the request (or of `idp.i18n.in_language`); English outside one.
from flask_babel import gettext as _
from flask_babel import ngettext


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str


def verification_mail(to: str, link: str) -> Message:
    return Message(to, _("Confirm your email address"),
                   _("Confirm your email address by opening this link:") + f"\n\n{link}\n\n"
                   + _("If you did not create an account, ignore this message."))


def reset_mail(to: str, link: str, minutes: int) -> Message:
    return Message(to, _("Reset your password"),
                   _("Someone asked to reset the password of your account.") + "\n\n"
                   + _("Open this link within %(num)d minutes to choose a new password:",
                       num=minutes) + f"\n\n{link}\n\n"
                   + _("The link works once. If it was not you, ignore this message; your "
                       "password stays the same."))


def invite_mail(to: str, link: str) -> Message:
    return Message(to, _("You are invited"),
                   _("You have been invited to create an account:") + f"\n\n{link}\n")


def set_password_invite_mail(to: str, link: str, days: int) -> Message:
    return Message(to, _("Your new account: choose a password"),
                   _("An account was made for you. Choose your password here:")
                   + f"\n\n{link}\n\n"
                   + ngettext("The link works once, for %(num)d day.",
                              "The link works once, for %(num)d days.", days))


def already_registered_mail(to: str, reset_link: str) -> Message:
    return Message(to, _("Someone tried to register with your address"),
                   _("Someone tried to create an account with this email address, which "
                     "already has one. If it was you, you can reset your password here:")
                   + f"\n\n{reset_link}\n")


def username_taken_mail(to: str, register_link: str) -> Message:
    return Message(to, _("Choose another username"),
                   _("Someone (we hope you) tried to create an account with this email "
                     "address, but the username chosen is taken or looks too much like one "
                     "that is. No account was created. Sign up again with another username:")
                   + f"\n\n{register_link}\n\n"
                   + _("If it was not you, ignore this message."))


def locked_mail(to: str, minutes: int | None, unlock_url: str | None = None) -> Message:
    until = (ngettext("It unlocks by itself in %(num)d minute, or when you reset your password.",
                      "It unlocks by itself in %(num)d minutes, or when you reset your password.",
                      minutes)
             if minutes else _("An administrator must unlock it, or you can reset your password."))
    return Message(to, _("Your account was locked"),
                   _("Your account was locked after too many failed sign-in attempts.")
                   + f" {until}\n\n"
                   + (_("To unlock it now, open this link (it works once):")
                      + f"\n{unlock_url}\n\n" if unlock_url else "")
                   + _("If these attempts were not yours, tell your administrator."))


def password_changed_mail(to: str, sessions_ended: int) -> Message:
    ended = (" " + ngettext("%(num)d other session was signed out.",
                            "%(num)d other sessions were signed out.", sessions_ended)
             if sessions_ended else "")
    return Message(to, _("Your password was changed"),
                   _("The password of your account was just changed.") + f"{ended}\n\n"
                   + _("If this was not you, reset your password at once and tell your "
                       "administrator."))


def backup_code_used_mail(to: str, remaining: int) -> Message:
    return Message(to, _("A backup code was used to sign in"),
                   _("One of your backup codes was just used.") + " "
                   + ngettext("%(num)d unused code remains; create a new set on your account's "
                              "security page when few are left.",
                              "%(num)d unused codes remain; create a new set on your account's "
                              "security page when few are left.", remaining)
                   + "\n\n"
                   + _("If this was not you, change your password and contact your "
                       "administrator at once."))
