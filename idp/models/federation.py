"""Upstream identity providers (federation) and the identities linked to our people."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, new_uuid, utcnow


class IdentityProvider(Base):
    __tablename__ = "identity_providers"
    __table_args__ = (UniqueConstraint("slug"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    # The slug names the callback (/login/external/<slug>/callback), so it is global.
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    issuer: Mapped[str | None] = mapped_column(String(500))
    client_id: Mapped[str | None] = mapped_column(String(255))
    # AES-GCM under the keyring's data key, bound to the provider id (keyring.encrypt).
    client_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    domains: Mapped[list] = mapped_column(JSON, default=list)
    roles: Mapped[list] = mapped_column(JSON, default=list)
    # Our groups this upstream manages: membership follows its `groups` claim at each sign-in.
    groups: Mapped[list] = mapped_column(JSON, default=list)
    link_by_verified_email: Mapped[bool] = mapped_column(Boolean, default=False)
    existing_accounts_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # SAML: the IdP's metadata (kept, so a sign-in fetches nothing) and where it came from.
    saml_metadata: Mapped[str | None] = mapped_column(Text)
    metadata_url: Mapped[str | None] = mapped_column(String(500))
    allow_idp_initiated: Mapped[bool] = mapped_column(Boolean, default=False)
    # OIDC: our logout also sends the person to the upstream's end_session_endpoint.
    end_session: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FederatedIdentity(Base):
    __tablename__ = "federated_identities"
    __table_args__ = (
        UniqueConstraint("provider_id", "subject"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class SamlAssertion(Base):
    """A SAML assertion ID already accepted: the same assertion is refused a second time
    (kept until the assertion itself expires)."""

    __tablename__ = "saml_assertions"

    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE"), primary_key=True)
    assertion_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
