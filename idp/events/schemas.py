"""JSON Schemas (2020-12) of the event envelope and of each event type; docs/events.schema.json
is this module's output (`python -m idp.events.schemas > docs/events.schema.json`)."""

from __future__ import annotations

import json

from idp.events.envelope import SCHEMA
from idp.events.outbox import SAFE_DETAIL_KEYS
from idp.events.webhooks import published_types

NULLABLE_STRING = {"type": ["string", "null"]}
# What `data` may hold besides outcome, client_id and audit_id (never personal data).
DETAIL_SCHEMAS = {"count": {"type": "integer"}, "grace_seconds": {"type": "integer"},
                  "fields": {"type": "array", "items": {"type": "string"}},
                  "grant_types": {"type": "array", "items": {"type": "string"}},
                  "permissions": {"type": "array", "items": {"type": "string"}},
                  "scopes": {"type": ["array", "string"]}}


def envelope_schema() -> dict:
    """The envelope every webhook and RabbitMQ message carries."""
    data = {"outcome": NULLABLE_STRING, "client_id": NULLABLE_STRING,
            "audit_id": {"type": ["integer", "null"]},
            **{key: DETAIL_SCHEMAS.get(key, {}) for key in sorted(SAFE_DETAIL_KEYS)}}
    return {
        "type": "object",
        "required": ["id", "type", "occurred_at", "tenant", "actor", "subject", "data", "schema"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "format": "uuid",
                   "description": "The event's identity; the same on every redelivery."},
            "type": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "tenant": NULLABLE_STRING, "actor": NULLABLE_STRING, "subject": NULLABLE_STRING,
            "data": {"type": "object", "properties": data, "additionalProperties": False},
            "schema": {"const": SCHEMA},
        },
    }


def document() -> dict:
    """One schema per published type under `$defs`, each the envelope with its type fixed."""
    defs = {"envelope": envelope_schema()}
    for name in sorted(published_types()):
        defs[name] = {"$id": f"{SCHEMA.removesuffix('.json')}/{name}.json",
                      "allOf": [{"$ref": f"{SCHEMA}#/$defs/envelope"}],
                      "properties": {"type": {"const": name}}}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA,
            "title": "idp events, version 1", "$defs": defs,
            "oneOf": [{"$ref": f"#/$defs/{name}"} for name in sorted(published_types())]}


if __name__ == "__main__":
    print(json.dumps(document(), indent=1))
