"""RFC 8628: the device authorization endpoint and the page where a person types the code."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from idp.audit import EventType
from idp.extensions import csrf, db
from idp.http import no_store, services, signed_in_user
from idp.models.oauth import Client
from idp.oauth.tokens import device_flow
from idp.rate_limits import request_limit

bp = Blueprint("device", __name__)
# Guessing user codes online (section 5.1): few tries per address.
USER_CODE_LIMIT = "10 per 5 minutes"


@bp.post("/device_authorization")
@csrf.exempt
@no_store
def device_authorization():
    response = services().server.create_endpoint_response("device_authorization")
    db.session.commit()
    return response


@bp.route("/device", methods=["GET", "POST"])
@request_limit(USER_CODE_LIMIT, event=EventType.RATE_LIMITED)
def device():
    session, user = signed_in_user()
    typed = request.values.get("user_code", "")
    if user is None:
        return render_template("oauth/device.html", step="signin", user_code=typed)
    if request.method == "GET":
        return render_template("oauth/device.html", step="enter", user_code=typed)
    row = device_flow.query_pending_by_user_code(db.session, g.request_context, typed)
    if row is None:
        return render_template("oauth/device.html", step="enter", user_code=typed,
                               error=_("That code is not valid or has expired.")), 400
    decision = request.form.get("decision")
    if decision not in ("approve", "deny"):
        client = db.session.get(Client, row.client_id)
        return render_template("oauth/device.html", step="confirm", client=client,
                               scopes=row.scope.split(),
                               user_code=device_flow.display_user_code(row.user_code))
    device_flow.decide(db.session, g.request_context, row, session, decision == "approve")
    db.session.commit()
    return render_template("oauth/device.html", step="done", approved=decision == "approve")
