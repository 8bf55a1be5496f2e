"""Signing keys: private halves encrypted with the data-encryption key from `keys/`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, utcnow

# Lifecycle: next (published, not yet signing) -> active (signing) -> retired (published
# until `publish_until`, when every token it signed has expired) -> gone from the JWKS.
KEY_NEXT = "next"
KEY_ACTIVE = "active"
KEY_RETIRED = "retired"


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(10), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    public_jwk: Mapped[dict] = mapped_column(JSON)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    publish_until: Mapped[datetime | None]
