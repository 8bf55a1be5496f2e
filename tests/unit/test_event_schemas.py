"""docs/events.schema.json is what the code generates, and it accepts real envelopes only."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, ValidationError

from idp.events.envelope import SCHEMA, build_envelope
from idp.events.schemas import document
from idp.models.outbox import OutboxEvent

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.schema.json"


def validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(DOC.read_text()))


def test_the_published_schema_file_is_current():
    assert json.loads(DOC.read_text()) == document(), \
        "regenerate: python -m idp.events.schemas > docs/events.schema.json"


def _row(name: str, data: dict) -> OutboxEvent:
    return OutboxEvent(name=name, event_id=uuid.uuid4(), payload={
        "at": "2026-12-02T08:00:00.000Z", "tenant": str(uuid.uuid4()), "subject": None,
        "actor": "system", "client_id": None, "outcome": "success", "audit_id": 7, "data": data})


def test_envelopes_validate_and_personal_data_or_unknown_types_do_not():
    check = validator()
    envelope = build_envelope(_row("user.updated", {"fields": ["locale"]}))
    assert envelope["schema"] == SCHEMA
    check.validate(envelope)
    check.validate(build_envelope(_row("auth.login.failed", {})))
    with pytest.raises(ValidationError):
        check.validate({**envelope, "type": "user.nonsense"})
    with pytest.raises(ValidationError):
        check.validate({**envelope, "data": {**envelope["data"], "email": "a@example.com"}})
    with pytest.raises(ValidationError):
        check.validate({**envelope, "extra": 1})
