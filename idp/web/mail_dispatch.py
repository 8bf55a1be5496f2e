"""Sending account mail off the request thread, after the commit.

Sending in the background keeps the answer time of /password/forgot and /register the
same whether or not a mail goes out (no enumeration by timing).
"""

from __future__ import annotations

import threading

from flask import g, url_for

from idp.accounts.account_mail import Message
from idp.accounts.administration import issue_unlock_link_token
from idp.branding_views import page_brand
from idp.extensions import db
from idp.http import services, settings
from idp.i18n import html_lang, in_language
from idp.tenancy.branding import mail_html, sender_of


def link_to(endpoint: str, **values) -> str:
    """An absolute link on the issuer's public base URL."""
    return settings().issuer + url_for(endpoint, **values)


def send_later(message: Message) -> threading.Thread:
    """Send in a background thread, from the tenant's branded sender if it sets one, as
    plain text with an HTML part in the tenant's branding (in the current language);
    Mailer.send logs failures instead of raising."""
    brand = page_brand().brand
    return services().mailer.send_in_background(
        message.to, message.subject, message.body, sender=brand_sender(),
        html=mail_html(brand, message.subject, message.body, html_lang()))


def brand_sender() -> str | None:
    """`Name <address>` of the page's tenant brand, or None for IDP_MAIL_FROM."""
    return sender_of(page_brand().brand, settings().mail_from)


def send_lock_notice(user) -> None:
    """Tell a person their account was just locked, with a one-time unlock link (called
    after the commit; stores the link's token in a transaction of its own)."""
    from idp.accounts.account_mail import locked_mail

    if user is None or not user.email:
        return
    token = issue_unlock_link_token(db.session, g.request_context, user)
    db.session.commit()
    duration = settings().lockout_duration
    with in_language(user.locale):
        send_later(locked_mail(user.email, (duration + 59) // 60 if duration else None,
                               link_to("self_service.unlock", token=token)))


def send_password_notice(user, sessions_ended: int = 0) -> None:
    """Tell a person their password was changed (called after the commit)."""
    from idp.accounts.account_mail import password_changed_mail

    if user is not None and user.email:
        with in_language(user.locale):
            send_later(password_changed_mail(user.email, sessions_ended))


def send_backup_code_notice(user, remaining: int) -> None:
    """Tell a person one of their backup codes was used (called after the commit)."""
    from idp.accounts.account_mail import backup_code_used_mail

    if user is not None and user.email:
        with in_language(user.locale):
            send_later(backup_code_used_mail(user.email, remaining))
