"""Helpers for the account-security tests: sign in, read audit events, capture mail."""

from __future__ import annotations

from sqlalchemy import select

from idp.extensions import db
from idp.models.audit import AuditEvent
from tests.factories import PASSWORD, csrf_from


def sign_in(client, username="alice", password=PASSWORD, **headers):
    """POST the login form (no pending authorization); returns the response."""
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))},
                       headers=headers)


def post_form(client, path, data, page=None, **kw):
    """GET `page` (default: `path`) for its CSRF token, then POST `data` to `path`."""
    html = client.get(page or path).get_data(as_text=True)
    return client.post(path, data={**data, "csrf_token": csrf_from(html)}, **kw)


def events(app, type_=None, outcome=None):
    """Audit events, oldest first, optionally filtered."""
    with app.app_context():
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if type_:
            stmt = stmt.where(AuditEvent.type == str(type_))
        if outcome:
            stmt = stmt.where(AuditEvent.outcome == str(outcome))
        rows = db.session.execute(stmt).scalars().all()
        db.session.expunge_all()
        return rows


class MailLog:
    """Collects what the Mailer sends (the real SMTP path is tested with aiosmtpd)."""

    def __init__(self, app):
        self.sent = []
        self.senders = []  # the From each mail used (None: IDP_MAIL_FROM)
        self.html = []  # the HTML part of each mail (None: plain text only)
        mailer = app.extensions["idp"].mailer
        mailer.smtp_url = None
        original = mailer.send

        def capture(to, subject, body, sender=None, html=None):
            self.senders.append(sender)
            self.html.append(html)
            self.sent.append((to, subject, body))
            original(to, subject, body, sender, html)

        mailer.send = capture

    def wait(self, count=1, timeout=5.0):
        import time

        deadline = time.monotonic() + timeout
        while len(self.sent) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.sent

    def link(self, prefix):
        import re

        for _, _, body in reversed(self.wait()):
            match = re.search(rf"http://localhost({prefix}[^\s]+)", body)
            if match:
                return match.group(1)
        raise AssertionError(f"no {prefix} link in {self.sent}")
