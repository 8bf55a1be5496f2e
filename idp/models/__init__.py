"""Every table, imported here so metadata (and Alembic) sees them all."""

from idp.models.account_tokens import AccountToken
from idp.models.accounts import PasswordCredential, PasswordHistory, User
from idp.models.audit import AuditChainHead, AuditEvent
from idp.models.base import Base, utcnow
from idp.models.federation import FederatedIdentity, IdentityProvider, SamlAssertion
from idp.models.groups import Group, GroupMember, GroupRole
from idp.models.imports import ImportJob
from idp.models.keys import SigningKey
from idp.models.mfa import BackupCode, TotpCredential, UsedWebAuthnChallenge, WebAuthnCredential
from idp.models.oauth import (
    AccessToken,
    AuthorizationCode,
    Client,
    ClientSecret,
    ClientUsageDay,
    Consent,
    RefreshToken,
    RevokedToken,
    ScimToken,
    TokenGrant,
    UsedAssertion,
)
from idp.models.outbox import OutboxEvent
from idp.models.rbac import Role, RoleAssignment
from idp.models.registration import ClientRegistration, InitialAccessToken
from idp.models.sessions import UserSession
from idp.models.tenancy import DEFAULT_TENANT_SLUG, Tenant
from idp.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "AccountToken",
    "AccessToken", "AuditChainHead", "AuditEvent", "AuthorizationCode", "Base", "Client",
    "ClientRegistration", "ClientSecret", "ClientUsageDay", "Consent", "DEFAULT_TENANT_SLUG",
    "FederatedIdentity",
    "IdentityProvider", "ImportJob", "InitialAccessToken", "SamlAssertion", "Group", "GroupMember",
    "GroupRole", "OutboxEvent", "PasswordCredential",
    "PasswordHistory",
    "RefreshToken", "RevokedToken", "Role", "RoleAssignment", "ScimToken", "SigningKey", "Tenant",
    "TokenGrant", "UsedAssertion", "User", "UserSession", "utcnow",
    "BackupCode", "TotpCredential", "UsedWebAuthnChallenge", "WebAuthnCredential",
    "WebhookDelivery", "WebhookSubscription",
]
