"""Outgoing mail: SMTP when IDP_SMTP_URL is set, else written to the log."""

from __future__ import annotations

import logging
import smtplib
import threading
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

log = logging.getLogger("idp.mail")


class Mailer:
    def __init__(self, smtp_url: str | None, sender: str):
        self.smtp_url = smtp_url
        self.sender = sender

    def send_in_background(self, to: str, subject: str, body: str,
                           sender: str | None = None, html: str | None = None
                           ) -> threading.Thread:
        """Send off the request thread (after the commit), so answer time does not depend
        on whether a mail goes out or on the SMTP server."""
        thread = threading.Thread(target=self.send, args=(to, subject, body, sender, html),
                                  name="idp-mail", daemon=True)
        thread.start()
        return thread

    def build(self, to: str, subject: str, body: str, sender: str | None = None,
              html: str | None = None) -> EmailMessage:
        """The message: plain text, and with `html` a multipart/alternative whose first
        part is that same plain text (readers without HTML show it)."""
        message = EmailMessage()
        message["From"] = sender or self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        if html:
            message.add_alternative(html, subtype="html")
        return message

    def send(self, to: str, subject: str, body: str, sender: str | None = None,
             html: str | None = None) -> None:
        """Send one message (from `sender`, a tenant's branded address, or the configured
        one); never raises into the request (logged instead)."""
        message = self.build(to, subject, body, sender, html)
        if not self.smtp_url:
            log.info("mail to=%s subject=%s\n%s", to, subject, body)
            return
        parts = urlsplit(self.smtp_url)
        try:
            smtp_cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
            with smtp_cls(parts.hostname, parts.port or 25, timeout=10) as smtp:
                if parts.scheme == "smtp+starttls":
                    smtp.starttls()
                if parts.username:
                    smtp.login(unquote(parts.username), unquote(parts.password or ""))
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            log.error("mail to=%s subject=%s failed: %s", to, subject, exc)
