"""Sending account mail off the request thread, after the commit.

Sending in the background keeps the answer time of /password/forgot and /register the
same whether or not a mail goes out (no enumeration by timing).
"""

from __future__ import annotations

import threading

from flask import url_for

from idp.accounts.account_mail import Message
from idp.http import services, settings


def link_to(endpoint: str, **values) -> str:
    """An absolute link on the issuer's public base URL."""
    return settings().issuer + url_for(endpoint, **values)


def send_later(message: Message) -> threading.Thread:
    """Send in a background thread; Mailer.send logs failures instead of raising."""
    return services().mailer.send_in_background(message.to, message.subject, message.body)


def send_lock_notice(user) -> None:
    """Tell a person their account was just locked (called after the commit)."""
    from idp.accounts.account_mail import locked_mail

    if user is None or not user.email:
        return
    duration = settings().lockout_duration
    send_later(locked_mail(user.email, (duration + 59) // 60 if duration else None))


def send_password_notice(user, sessions_ended: int = 0) -> None:
    """Tell a person their password was changed (called after the commit)."""
    from idp.accounts.account_mail import password_changed_mail

    if user is not None and user.email:
        send_later(password_changed_mail(user.email, sessions_ended))


def send_backup_code_notice(user, remaining: int) -> None:
    """Tell a person one of their backup codes was used (called after the commit)."""
    from idp.accounts.account_mail import backup_code_used_mail

    if user is not None and user.email:
        send_later(backup_code_used_mail(user.email, remaining))
