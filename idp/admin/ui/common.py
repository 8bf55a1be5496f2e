"""Helpers shared by the console pages."""

from __future__ import annotations

import base64

from flask import flash, redirect, render_template, session, url_for

from idp.admin.permissions import resolve_caller
from idp.http import services

_ONCE = "idp.console_once"

NAV = [("users", "People"), ("audit", "Audit log"), ("roles", "Roles"), ("groups", "Groups"),
       ("tenants", "Tenants"), ("clients", "Applications"), ("webhooks", "Webhooks"),
       ("providers", "Sign-in providers"), ("keys", "Keys"), ("import_users", "Import")]


def page(template: str, status: int = 200, **context):
    """Render a console page with the caller and the navigation."""
    return render_template(template, caller=resolve_caller(check_csrf=False), nav=NAV,
                           **context), status


def done(message: str, endpoint: str, **values):
    """After a POST: a message, then back to a page (post/redirect/get)."""
    flash(message, "ok")
    return redirect(url_for(endpoint, **values))


def keep_for_next_page(what: str, key: str, value: str | None) -> None:
    """A secret for the page after the redirect (POST/redirect/GET), encrypted in the
    signed flow cookie: the POST's answer never holds it, so a reload repeats nothing."""
    if value:
        blob = services().keyring.encrypt(value.encode(), f"console-once:{what}:{key}")
        session[_ONCE] = [what, key, base64.urlsafe_b64encode(blob).decode()]


def take_once(what: str, key: str) -> str | None:
    """The kept secret, if it is for this page; gone afterwards either way."""
    kept = session.pop(_ONCE, None)
    if not kept or kept[:2] != [what, key]:
        return None
    blob = base64.urlsafe_b64decode(kept[2])
    return services().keyring.decrypt(blob, f"console-once:{what}:{key}").decode()


def refused_input(exc) -> None:
    """A form refused by a rule: nothing of it is kept, the refusal is audited as the
    console's error handler does (admin.input.rejected), then the form is shown again."""
    from idp.admin.api import audit_rejected_input
    from idp.extensions import db

    db.session.rollback()
    audit_rejected_input(exc.code, exc.field)
