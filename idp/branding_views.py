"""Serving a tenant's branding (issue 16): the theme stylesheet, the logo, and `brand` in
every template.

Both are served from our own origin, so the pages keep `style-src 'self'` and
`img-src 'self'` in their Content-Security-Policy; the logo is answered with the type its
bytes prove (never SVG), `nosniff` and a CSP of its own that allows nothing.
"""

from __future__ import annotations

import uuid
from functools import cached_property

from flask import Blueprint, Flask, Response, abort, g, url_for
from sqlalchemy.exc import SQLAlchemyError

from idp.extensions import db
from idp.models.accounts import User
from idp.models.tenancy import Tenant
from idp.tenancy.branding import Brand, brand_of, decode_logo, theme_css
from idp.tenancy.tenants import ensure_default_tenant

bp = Blueprint("branding", __name__)
CACHE = "public, max-age=300"


def _tenant_or_404(tenant_id: str) -> Tenant:
    try:
        tenant = db.session.get(Tenant, uuid.UUID(tenant_id))
    except ValueError:
        tenant = None
    if tenant is None:
        abort(404)
    return tenant


@bp.route("/branding/<tenant_id>/theme.css")
def theme(tenant_id: str):
    css = theme_css(brand_of(_tenant_or_404(tenant_id).settings))
    return Response(css, mimetype="text/css", headers={"Cache-Control": CACHE})


@bp.route("/branding/<tenant_id>/logo")
def logo(tenant_id: str):
    stored = ((_tenant_or_404(tenant_id).settings or {}).get("branding") or {}).get("logo")
    decoded = decode_logo(stored) if isinstance(stored, str) else None
    if decoded is None:
        abort(404)
    data, kind = decoded
    return Response(data, mimetype=kind, headers={
        "Cache-Control": CACHE, "Content-Security-Policy": "default-src 'none'",
        "Content-Disposition": "inline; filename=logo"})


def _page_tenant() -> Tenant | None:
    """The tenant whose brand a hosted page shows: the signed-in person's (if this request
    loaded the session), else the default tenant."""
    signed_in = g.get("idp_session")
    if signed_in is not None:
        user = db.session.get(User, signed_in.user_id)
        if user is not None:
            return db.session.get(Tenant, user.tenant_id)
    return ensure_default_tenant(db.session)


class PageBrand:
    """What base.html needs of the brand, looked up when a template first asks.

    A page rendered while the database is down (the 503 page) keeps the default theme.
    """

    @cached_property
    def _found(self) -> tuple[Brand, str | None]:
        try:
            tenant = _page_tenant()
        except SQLAlchemyError:
            return Brand(), None
        return (brand_of(tenant.settings), str(tenant.id)) if tenant is not None else (Brand(), None)

    @property
    def brand(self) -> Brand:
        return self._found[0]

    @property
    def name(self) -> str:
        return self._found[0].name

    @property
    def css_url(self) -> str | None:
        brand, tenant_id = self._found
        if not brand.primary_color:
            return None
        return url_for("branding.theme", tenant_id=tenant_id, v=brand.primary_color[1:])

    @property
    def logo_url(self) -> str | None:
        brand, tenant_id = self._found
        return url_for("branding.logo", tenant_id=tenant_id) if brand.has_logo else None


def page_brand() -> PageBrand:
    """The brand of this request's pages (one lookup per request)."""
    if "page_brand" not in g:
        g.page_brand = PageBrand()
    return g.page_brand


def install(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _brand():
        return {"brand": page_brand()}
