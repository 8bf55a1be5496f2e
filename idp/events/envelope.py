"""The versioned envelope webhooks and RabbitMQ carry (JSON Schemas in docs/events.md)."""

from __future__ import annotations

import fnmatch

from idp.models.outbox import OutboxEvent

# Changes only for an incompatible change of the envelope or of a type's `data`.
SCHEMA = "https://idp.dev/schemas/events/v1.json"
TEST_EVENT = "webhook.test"  # sent by `idp webhooks test`; never from the outbox


def build_envelope(row: OutboxEvent) -> dict:
    """The public document of an outbox row; `id` is the row's immutable event_id."""
    payload = row.payload or {}
    data = {"outcome": payload.get("outcome"), "client_id": payload.get("client_id"),
            "audit_id": payload.get("audit_id"), **(payload.get("data") or {})}
    return {
        "id": str(row.event_id),
        "type": row.name,
        "occurred_at": payload.get("at"),
        "tenant": payload.get("tenant"),
        "actor": payload.get("actor"),
        "subject": payload.get("subject"),
        "data": data,
        "schema": SCHEMA,
    }


def type_matches(patterns: list[str], event_type: str) -> bool:
    """Whether a subscription's patterns ("*", "user.*", exact names) cover `event_type`."""
    return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in patterns)
