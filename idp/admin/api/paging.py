"""Opaque cursors and query-string parsing for the admin API lists."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

from flask import request

from idp.errors import DomainError, ValidationFailed


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


def encode_cursor(values: list) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str | None) -> list | None:
    """The values packed into a cursor; 400 when it was not made by us."""
    if not value:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, TypeError):
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


def arg_datetime(name: str, raw: str | None = None) -> datetime | None:
    """An RFC 3339 timestamp from the query (UTC assumed when no offset)."""
    raw = request.args.get(name) if raw is None else raw
    if not raw:
        return None
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
