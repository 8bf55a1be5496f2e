"""Audit log: `record` adds an event to the current transaction."""

from idp.audit.events import EventType, Outcome
from idp.audit.record import record

__all__ = ["EventType", "Outcome", "record"]
