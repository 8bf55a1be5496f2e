"""The texts of the mails sent to people; the adapter sends them after the commit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str


def verification_mail(to: str, link: str) -> Message:
    return Message(to, "Confirm your email address",
                   f"Confirm your email address by opening this link:\n\n{link}\n\n"
                   "If you did not create an account, ignore this message.")


def reset_mail(to: str, link: str, minutes: int) -> Message:
    return Message(to, "Reset your password",
                   f"Someone asked to reset the password of your account.\n\n"
                   f"Open this link within {minutes} minutes to choose a new password:\n\n"
                   f"{link}\n\nThe link works once. If it was not you, ignore this message; "
                   "your password stays the same.")


def invite_mail(to: str, link: str) -> Message:
    return Message(to, "You are invited",
                   f"You have been invited to create an account:\n\n{link}\n")


def set_password_invite_mail(to: str, link: str, days: int) -> Message:
    return Message(to, "Your new account: choose a password",
                   f"An account was made for you. Choose your password here:\n\n{link}\n\n"
                   f"The link works once, for {days} days.")


def already_registered_mail(to: str, reset_link: str) -> Message:
    return Message(to, "Someone tried to register with your address",
                   "Someone tried to create an account with this email address, which "
                   "already has one. If it was you, you can reset your password here:\n\n"
                   f"{reset_link}\n")


def username_taken_mail(to: str, register_link: str) -> Message:
    return Message(to, "Choose another username",
                   "Someone (we hope you) tried to create an account with this email address, "
                   "but the username chosen is taken or looks too much like one that is. No "
                   f"account was created. Sign up again with another username:\n\n"
                   f"{register_link}\n\nIf it was not you, ignore this message.")


def locked_mail(to: str, minutes: int | None) -> Message:
    until = (f"It unlocks by itself in {minutes} minutes, or when you reset your password."
             if minutes else "An administrator must unlock it, or you can reset your password.")
    return Message(to, "Your account was locked",
                   "Your account was locked after too many failed sign-in attempts. "
                   f"{until}\n\nIf these attempts were not yours, tell your administrator.")


def password_changed_mail(to: str, sessions_ended: int) -> Message:
    ended = (f" {sessions_ended} other session(s) were signed out." if sessions_ended else "")
    return Message(to, "Your password was changed",
                   f"The password of your account was just changed.{ended}\n\n"
                   "If this was not you, reset your password at once and tell your "
                   "administrator.")


def backup_code_used_mail(to: str, remaining: int) -> Message:
    return Message(to, "A backup code was used to sign in",
                   f"One of your backup codes was just used. {remaining} unused code(s) "
                   "remain; create a new set on your account's security page when few are "
                   "left.\n\nIf this was not you, change your password and contact your "
                   "administrator at once.")
