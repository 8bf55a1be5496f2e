"""Audit events become outbox rows in the same transaction (docs/events.md)."""

from __future__ import annotations

from idp.models.audit import AuditEvent

SCHEMA_VERSION = 1
# Audit types whose public event name differs; every other type is published as is.
# `user.created` keeps its name: every account creation (admin, CLI, import, bootstrap,
# and the account behind a sign-up) is `user.created`; only a successful self sign-up is
# `user.registered`, once.
RENAMED = {
    "user.password.changed": "user.password_changed",
    "user.password.change_required": "user.password_change_required",
}
# Detail keys that carry no personal data; nothing else leaves the provider.
SAFE_DETAIL_KEYS = {"role", "before", "after", "reason", "session_id", "fields", "group",
                    "grace_seconds", "endpoint", "auth_method", "grant_types", "count",
                    "permissions", "method", "scopes", "status", "mode"}


def event_name(audit_type: str, outcome: str) -> str:
    """The public name: auth.login.success / auth.login.failed, user.registered, ..."""
    if audit_type in {"auth.login", "auth.mfa"}:
        return f"{audit_type}.{'success' if outcome == 'success' else 'failed'}"
    if audit_type == "user.registered" and outcome != "success":
        return "user.registration.failed"
    return RENAMED.get(audit_type, audit_type)


def build_payload(event: AuditEvent, name: str) -> dict:
    """The published document: identifiers, outcome and non-personal details."""
    details = event.details or {}
    return {
        "schema": SCHEMA_VERSION,
        "event": name,
        "at": event.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "tenant": str(event.tenant_id) if event.tenant_id else None,
        "subject": str(event.subject_id) if event.subject_id else None,
        "actor": event.actor_id,
        "client_id": event.client_id,
        "outcome": event.outcome,
        "audit_id": event.id,
        "data": {k: v for k, v in details.items() if k in SAFE_DETAIL_KEYS},
    }


def outbox_columns(event: AuditEvent) -> dict:
    """The outbox row of an audit event (or of a row with the same attributes)."""
    name = event_name(event.type, event.outcome)
    return {"name": name, "at": event.at, "tenant_id": event.tenant_id,
            "subject_id": event.subject_id, "audit_event_id": event.id,
            "payload": build_payload(event, name)}
