"""Helpers shared by the console pages."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from idp.admin.permissions import resolve_caller

NAV = [("users", "People"), ("audit", "Audit log"), ("roles", "Roles"), ("groups", "Groups"),
       ("tenants", "Tenants"), ("clients", "Clients"), ("webhooks", "Webhooks"),
       ("providers", "Sign-in providers"), ("keys", "Keys"),
       ("import_users", "Import")]


def page(template: str, status: int = 200, **context):
    """Render a console page with the caller and the navigation."""
    return render_template(template, caller=resolve_caller(check_csrf=False), nav=NAV,
                           **context), status


def done(message: str, endpoint: str, **values):
    """After a POST: a message, then back to a page (post/redirect/get)."""
    flash(message, "ok")
    return redirect(url_for(endpoint, **values))
