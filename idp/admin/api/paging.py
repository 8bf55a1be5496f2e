"""Opaque cursors and query-string parsing for the admin API lists."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app, request
from itsdangerous import BadData, URLSafeSerializer

from idp.errors import DomainError, ValidationFailed


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


def _cursor_signer() -> URLSafeSerializer:
    # Bound to the list's path: a cursor is only ever read back by the list that made it.
    return URLSafeSerializer(current_app.secret_key, salt=f"idp.cursor:{request.path}")


def encode_cursor(values: list) -> str:
    """An opaque, signed cursor holding `values` (they cannot be forged or edited)."""
    return _cursor_signer().dumps(values)


def decode_cursor(value: str | None) -> list | None:
    """The values packed into a cursor; 400 when it was not made by us."""
    if not value:
        return None
    try:
        data = _cursor_signer().loads(value)
    except BadData:
        raise BadRequest("The cursor is not valid.") from None
    if not isinstance(data, list):
        raise BadRequest("The cursor is not valid.")
    return data


def arg_limit(default: int = 50, maximum: int = 200) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("limit must be a whole number.") from None
    if not 1 <= value <= maximum:
        raise BadRequest(f"limit must be between 1 and {maximum}.")
    return value


_FROM_QUERY = object()


def arg_datetime(name: str, raw=_FROM_QUERY) -> datetime | None:
    """An RFC 3339 timestamp from the query (UTC assumed when no offset); None when the
    parameter is absent, 422 when it is present but empty (`?since=` filters nothing)."""
    raw = request.args.get(name) if raw is _FROM_QUERY else raw
    if raw is None:
        return None
    if not raw.strip():
        raise ValidationFailed(f"{name} is empty: leave it out or give an RFC 3339 "
                               "timestamp.", field=name)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ValidationFailed(f"{name} must be an RFC 3339 timestamp.", field=name) from None
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


def arg_uuid(name: str, raw: str | None = None) -> uuid.UUID | None:
    raw = request.args.get(name) if raw is None else raw
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be an id.", field=name) from None


def page(items: list, next_cursor: str | None) -> dict:
    """The list shape of every collection: {"items": [...], "next_cursor": ... | null}."""
    return {"items": items, "next_cursor": next_cursor}


def no_content():
    """204 with no body and no content type."""
    from flask import Response

    response = Response(status=204)
    del response.headers["Content-Type"]
    return response
