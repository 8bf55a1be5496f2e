"""Mail to one person outside the hosted pages (admin console and API, CLI, notices): in the
person's language (`locale`; English when none is set or shipped) and their tenant's
branding — plain text first, then the same text as HTML, from the brand's sender if set.
The hosted pages do the same with the page's language (idp/web/mail_dispatch.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import force_locale
from sqlalchemy.orm import Session

from idp.accounts.account_mail import Message
from idp.languages import DEFAULT, bcp47, match_language
from idp.models.tenancy import Tenant
from idp.tenancy.branding import brand_of, mail_html, sender_of


@contextmanager
def in_persons_language(locale: str | None) -> Iterator[str]:
    """gettext in the person's language inside the block; yields that language."""
    language = match_language(locale) or DEFAULT
    with force_locale(language):
        yield language


def deliver(mailer, session: Session | None, tenant_id: uuid.UUID | None, message: Message,
            language: str, *, background: bool = False) -> None:
    """Send `message` in the tenant's branding (a mail failure is logged by the Mailer)."""
    tenant = session.get(Tenant, tenant_id) if session is not None and tenant_id else None
    brand = brand_of(tenant.settings if tenant is not None else None)
    send = mailer.send_in_background if background else mailer.send
    send(message.to, message.subject, message.body, sender=sender_of(brand, mailer.sender),
         html=mail_html(brand, message.subject, message.body, bcp47(language)))
