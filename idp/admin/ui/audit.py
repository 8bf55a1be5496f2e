"""Console audit page: filters (person, actor, type, outcome, IP, dates), paging, export."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request

from idp.accounts.users import query_user
from idp.admin.api.audit import audit_filter
from idp.admin.permissions import require, resolve_caller
from idp.admin.ui import bp
from idp.admin.ui.common import page
from idp.audit.events import EventType, Outcome
from idp.audit.query import query_events, serialise_event
from idp.errors import DomainError
from idp.extensions import db

FILTERS = ("user", "actor", "type", "outcome", "ip", "since", "until")


def _resolve_person(args: dict) -> dict:
    """The person filter accepts a username or email as well as an id."""
    ref = args.get("user")
    if ref and "-" not in ref[8:9]:
        try:
            caller = resolve_caller(check_csrf=False)
            args["user"] = str(query_user(db.session, ref, caller.tenant_scope).id)
        except DomainError:
            args["user"] = "00000000-0000-0000-0000-000000000000"
    return args


def _before():
    """The (at, id) of the last event on the previous page, from `before=<iso>|<id>`."""
    from datetime import datetime

    raw = request.args.get("before", "")
    at, _, event_id = raw.partition("|")
    try:
        return datetime.fromisoformat(at), int(event_id)
    except ValueError:
        return None


def usernames(events: list[dict]) -> dict[str, str]:
    """Usernames of the people named as actor or subject on this page (one query)."""
    import uuid

    from sqlalchemy import select

    from idp.models.accounts import User

    ids = set()
    for event in events:
        for ref in (event.get("actor"), event.get("subject")):
            try:
                ids.add(uuid.UUID(str(ref)))
            except ValueError:
                pass
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()
    return {str(i): name for i, name in rows}


@bp.get("/audit")
@require("audit:read")
def audit():
    args = {k: request.args.get(k, "").strip() for k in FILTERS if request.args.get(k)}
    shown = dict(args)
    args = _resolve_person(args)
    for key in ("since", "until"):
        if args.get(key) and len(args[key]) == 10:
            args[key] += "T00:00:00Z"  # a date input gives YYYY-MM-DD
    before = _before()
    error = None
    try:
        rows, last = query_events(db.session, audit_filter(args), before=before, limit=50)
    except DomainError as exc:
        rows, last, error = [], None, exc.message
    export = urlencode({k: v for k, v in args.items()})
    events = [serialise_event(e) for e in rows]
    return page("admin/audit.html", events=events, args=shown, names=usernames(events),
                next_link=urlencode({**shown, "before": f"{last[0].isoformat()}|{last[1]}"})
                if last else None,
                export=export, error=error, types=sorted({str(t) for t in EventType}),
                outcomes=sorted({str(o) for o in Outcome}))
