"""/api/v1/audit: filtered, paged audit events; CSV and JSON export."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from flask import Response, request

from idp.admin.api import bp
from idp.admin.api.paging import (
    BadRequest,
    arg_datetime,
    arg_limit,
    arg_uuid,
    decode_cursor,
    encode_cursor,
    page,
)
from idp.admin.permissions import require, resolve_caller
from idp.audit.query import AuditFilter, filtered, query_events, serialise_event
from idp.extensions import db
from idp.tenancy.tenants import query_tenant

CSV_COLUMNS = ["id", "at", "type", "outcome", "actor", "subject", "tenant", "client_id",
               "username", "ip", "user_agent", "request_id", "details"]
EXPORT_MAX = 100_000


def audit_filter(args=None) -> AuditFilter:
    """Filters from the query string (or `args`), confined to the caller's tenant."""
    args = request.args if args is None else args
    caller = resolve_caller()
    tenant = caller.tenant_scope
    if tenant is None and args.get("tenant"):
        tenant = query_tenant(db.session, args["tenant"]).id
    return AuditFilter(user=arg_uuid("user", args.get("user") or ""),
                       actor=args.get("actor") or None,
                       type=args.get("type") or None, outcome=args.get("outcome") or None,
                       ip=args.get("ip") or None, since=arg_datetime("since", args.get("since")),
                       until=arg_datetime("until", args.get("until")), tenant=tenant)


def _before():
    """The (at, id) keyset packed into the cursor."""
    cursor = decode_cursor(request.args.get("cursor"))
    if cursor is None:
        return None
    try:
        at, event_id = cursor
        if not isinstance(event_id, int):
            raise TypeError
        return datetime.fromisoformat(at), event_id
    except (TypeError, ValueError):
        raise BadRequest("The cursor is not valid.") from None


@bp.get("/audit")
@require("audit:read")
def list_audit():
    rows, last = query_events(db.session, audit_filter(), before=_before(),
                              limit=arg_limit(50, 500))
    return page([serialise_event(e) for e in rows],
                encode_cursor([last[0].isoformat(), last[1]]) if last else None)


@bp.get("/audit/export")
@require("audit:read")
def export_audit():
    fmt = request.args.get("format", "json")
    if fmt not in {"json", "csv"}:
        raise BadRequest("format must be csv or json.")
    stmt = filtered(audit_filter()).limit(EXPORT_MAX)
    events = (serialise_event(e) for e in
              db.session.execute(stmt.execution_options(yield_per=1000)).scalars())
    if fmt == "json":
        body = _json_chunks(events)
        mimetype = "application/json"
    else:
        body = _csv_chunks(events)
        mimetype = "text/csv"
    # Built in memory (bounded by EXPORT_MAX) so the database work ends with the request.
    response = Response("".join(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="audit.{fmt}"'
    return response


def _json_chunks(events):
    yield '{"items": ['
    for index, event in enumerate(events):
        yield ("," if index else "") + json.dumps(event)
    yield "]}"


def _csv_chunks(events):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        row = [event.get(c) for c in CSV_COLUMNS]
        row[-1] = json.dumps(event["details"])
        # Spreadsheet formula injection: neutralise cells starting with = + - @.
        writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
