"""Domain errors: services raise these for rule violations; `idp.http` maps them to HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken; `code` is a stable machine-readable name."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class AuditUnavailable(DomainError):
    """The audit log could not be written, so the action it records must not happen
    (answered like a database outage: 503 with Retry-After, the transaction rolled back)."""

    status = 503
    code = "service_unavailable"


class HashingBusy(DomainError):
    """Every password-hashing slot of this process stayed busy (a login flood): answered 503
    with Retry-After before anything is counted or recorded (accounts/passwords.py)."""

    status = 503
    code = "service_unavailable"

    def __init__(self, retry_after: int):
        super().__init__("Too many sign-ins right now; please try again in a moment.")
        self.retry_after = retry_after
