"""GET /account/export: a signed-in person downloads their own GDPR export (SPEC pages)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, url_for

from idp.audit import EventType, record
from idp.extensions import db
from idp.gdpr.export import export_user
from idp.http import signed_in_user
from idp.web.destination import wanted_path

bp = Blueprint("account_export", __name__)


@bp.get("/account/export")
def account_export():
    _session, user = signed_in_user()
    if user is None:
        return redirect(url_for("web.login", next=wanted_path()))
    document = export_user(db.session, user)
    record(db.session, g.request_context, EventType.USER_EXPORTED, subject_id=user.id,
           tenant_id=user.tenant_id, actor_id=str(user.id), details={"self_service": True})
    db.session.commit()
    response = current_app.response_class(current_app.json.dumps(document),
                                          mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
