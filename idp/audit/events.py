"""Event types (`area.subject.action`) and outcomes, as stable strings."""

from enum import StrEnum


class EventType(StrEnum):
    LOGIN = "auth.login"
    LOGOUT = "auth.logout"
    MFA = "auth.mfa"
    CLIENT_AUTH_FAILED = "auth.client.failed"
    TOKEN_REUSE = "oauth.token.reuse_detected"
    CODE_REPLAY = "oauth.code.replay_detected"
    TOKEN_REVOKED = "oauth.token.revoked"
    CONSENT_GRANTED = "oauth.consent.granted"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    USER_LOCKED = "user.locked"
    USER_UNLOCKED = "user.unlocked"
    USER_ERASED = "user.erased"
    USER_DELETED = "user.deleted"
    PASSWORD_CHANGED = "user.password.changed"
    PASSWORD_CHANGE_REQUIRED = "user.password.change_required"
    SESSION_REVOKED = "session.revoked"
    ROLE_ASSIGNED = "role.assigned"
    CLIENT_CREATED = "client.created"
    CLIENT_SECRET_ROTATED = "client.secret.rotated"
    CLIENT_REVOKED = "client.revoked"
    KEY_CREATED = "key.created"
    KEY_ROTATED = "key.rotated"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    INVALID_PASSWORD = "invalid_password"
    UNKNOWN_USER = "unknown_user"
    ACCOUNT_LOCKED = "account_locked"
    ACCOUNT_DISABLED = "account_disabled"
    RATE_LIMITED = "rate_limited"
    MFA_REQUIRED = "mfa_required"
    MFA_FAILED = "mfa_failed"
    PASSWORD_EXPIRED = "password_expired"
