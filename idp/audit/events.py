"""Event types (`area.subject.action`) and outcomes, as stable strings."""

from enum import StrEnum


class EventType(StrEnum):
    LOGIN = "auth.login"
    LOGOUT = "auth.logout"
    MFA = "auth.mfa"
    MFA_TOTP_ENROLLED = "mfa.totp.enrolled"
    MFA_TOTP_CONFIRMED = "mfa.totp.confirmed"
    MFA_PASSKEY_REGISTERED = "mfa.passkey.registered"
    MFA_FACTOR_REMOVED = "mfa.factor.removed"
    MFA_BACKUP_CODES_REGENERATED = "mfa.backup_codes.regenerated"
    MFA_BACKUP_CODE_USED = "mfa.backup_code.used"
    MFA_RESET = "mfa.reset"
    CLIENT_AUTH_FAILED = "auth.client.failed"
    TOKEN_REUSE = "oauth.token.reuse_detected"
    CODE_REPLAY = "oauth.code.replay_detected"
    CODE_REDEMPTION_FAILED = "oauth.code.redemption_failed"
    DEVICE_DENIED = "oauth.device.denied"
    TOKEN_EXCHANGED = "oauth.token.exchanged"
    BACKCHANNEL_LOGOUT_DELIVERED = "oauth.backchannel_logout.delivered"
    BACKCHANNEL_LOGOUT_FAILED = "oauth.backchannel_logout.failed"
    TOKEN_REVOKED = "oauth.token.revoked"
    TOKEN_ISSUED = "oauth.token.issued"
    CONSENT_GRANTED = "oauth.consent.granted"
    CONSENT_REVOKED = "oauth.consent.revoked"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    USER_LOCKED = "user.locked"
    USER_UNLOCKED = "user.unlocked"
    USER_ERASED = "user.erased"
    USER_DELETED = "user.deleted"
    USER_DEPROVISIONED = "user.deprovisioned"  # a SCIM DELETE (then disabled or erased)
    PASSWORD_CHANGED = "user.password.changed"
    PASSWORD_CHANGE_REQUIRED = "user.password.change_required"
    PASSWORD_RESET_REQUESTED = "user.password.reset_requested"
    PASSWORD_RESET = "user.password.reset"
    USER_REGISTERED = "user.registered"
    USER_INVITED = "user.invited"
    EMAIL_VERIFIED = "user.email.verified"
    PROFILE_UPDATED = "user.profile.updated"
    RATE_LIMITED = "http.rate_limited"
    CSRF_REJECTED = "http.csrf.rejected"
    ADMIN_INPUT_REJECTED = "admin.input.rejected"
    SESSION_REVOKED = "session.revoked"
    ROLE_ASSIGNED = "role.assigned"
    ROLE_REVOKED = "role.revoked"
    ROLE_CREATED = "role.created"
    ROLE_UPDATED = "role.updated"
    ROLE_DELETED = "role.deleted"
    GROUP_CREATED = "group.created"
    GROUP_UPDATED = "group.updated"
    GROUP_DELETED = "group.deleted"
    GROUP_MEMBER_ADDED = "group.member.added"
    GROUP_MEMBER_REMOVED = "group.member.removed"
    GROUP_ROLE_ASSIGNED = "group.role.assigned"
    GROUP_ROLE_REVOKED = "group.role.revoked"
    TENANT_CREATED = "tenant.created"
    TENANT_UPDATED = "tenant.updated"
    USER_EXPORTED = "user.exported"
    USER_IMPORTED = "user.imported"
    CLIENT_CREATED = "client.created"
    CLIENT_UPDATED = "client.updated"
    CLIENT_SECRET_ROTATED = "client.secret.rotated"
    CLIENT_REVOKED = "client.revoked"
    CLIENT_DELETED = "client.deleted"
    CLIENT_REGISTRATION_REFUSED = "client.registration.refused"  # RFC 7591/7592 refusals
    INITIAL_ACCESS_TOKEN_CREATED = "client.initial_access_token.created"
    INITIAL_ACCESS_TOKEN_REVOKED = "client.initial_access_token.revoked"
    CLIENT_SCIM_TOKEN_ISSUED = "client.scim_token.issued"
    CLIENT_SCIM_TOKEN_REVOKED = "client.scim_token.revoked"
    KEY_CREATED = "key.created"
    KEY_ROTATED = "key.rotated"
    AUTHZ_DENIED = "authz.denied"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_SECRET_ROTATED = "webhook.secret.rotated"
    WEBHOOK_DISABLED = "webhook.disabled"
    WEBHOOK_ENABLED = "webhook.enabled"
    PROVIDER_CREATED = "provider.created"
    PROVIDER_UPDATED = "provider.updated"
    PROVIDER_DELETED = "provider.deleted"
    IDENTITY_LINKED = "user.identity.linked"
    IDENTITY_UNLINKED = "user.identity.unlinked"


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
    SSO_REQUIRED = "sso_required"


# Names an operator reads; the rest are derived from the member name (USER_LOCKED -> "User
# locked"). The code stays the stable identifier (filters, exports, SIEM).
_LABELS = {
    EventType.LOGIN: "Sign-in", EventType.LOGOUT: "Sign-out",
    EventType.MFA: "Second-factor check", EventType.CLIENT_AUTH_FAILED: "Client auth failed",
    EventType.TOKEN_REUSE: "Refresh token reused", EventType.CODE_REPLAY: "Code replayed",
    EventType.AUTHZ_DENIED: "Permission denied", EventType.RATE_LIMITED: "Rate limited",
    EventType.MFA_TOTP_ENROLLED: "Authenticator app started",
    EventType.MFA_TOTP_CONFIRMED: "Authenticator app set up",
}


def event_label(code: str) -> str:
    """A readable name for an event type code (unknown codes are shown as they are)."""
    try:
        member = EventType(code)
    except ValueError:
        return code
    return _LABELS.get(member) or member.name.replace("_", " ").capitalize()
