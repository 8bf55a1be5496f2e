"""Dynamic client registration (RFC 7591 / 7592): initial access tokens and the
registration access token of each registered client."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, utcnow


class InitialAccessToken(Base):
    """An admin's permission to register clients in a tenant (RFC 7591 1.2), with a policy."""

    __tablename__ = "initial_access_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the token (256 random bits): the token itself is shown once.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    max_uses: Mapped[int | None] = mapped_column(Integer)  # None: until it expires
    uses: Mapped[int] = mapped_column(Integer, default=0)
    # The policy every client registered (and updated) with it must meet.
    grant_types: Mapped[list] = mapped_column(JSON, default=list)
    redirect_uri_prefixes: Mapped[list] = mapped_column(JSON, default=list)
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ClientRegistration(Base):
    """The RFC 7592 registration access token of a client, and the policy it was made under."""

    __tablename__ = "client_registrations"

    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    initial_access_token_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("initial_access_tokens.id", ondelete="SET NULL"), index=True)
    policy: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
