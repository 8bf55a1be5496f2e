"""What services need to know about the caller, without touching Flask."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from idp.models.base import utcnow


@dataclass(frozen=True)
class RequestContext:
    """Client IP, user agent and request id of the request a service acts for."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    actor_id: str | None = None
    now: datetime = field(default_factory=utcnow)
    # (type, outcome, ip) -> (write a row?, repeats folded before): audit.repeats.RepeatGate
    # for requests, so floods of failures are aggregated; None (always write) elsewhere.
    repeat_gate: Callable[[str, str, str | None], tuple[bool, int]] | None = None


def system_context() -> RequestContext:
    """The context of work done by the CLI or at start-up (fresh `now` each time)."""
    return RequestContext(ip=None, user_agent="idp-cli", request_id=None, actor_id="system")
