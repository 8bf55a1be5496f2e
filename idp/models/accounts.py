"""People: users, their password credentials and password history."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import DDL, JSON, Boolean, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.models.base import Base, new_uuid, utcnow

# Columns the admin people search matches anywhere in (idp.admin.operations.filter_people)
# that get a trigram index. Not username_normalized or email_normalized: pg_trgm also
# answers `=`, and PostgreSQL then chose the trigram index for the sign-in and import
# lookups by those columns (`IN` of 1,000 addresses: 10 s instead of 1 ms).
TRIGRAM_COLUMNS = ("name", "family_name")
# Their operator class comes from pg_trgm: a schema made from the models (tests, benches)
# needs the extension first, as migration 0014 does.
event.listen(Base.metadata, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_tenant_username", "tenant_id", "username_normalized", unique=True),
        Index("uq_users_tenant_email", "tenant_id", "email_normalized", unique=True),
        # Not unique in the database: accounts made before the look-alike rule may share a
        # skeleton; idp.accounts.users refuses new clashes.
        Index("ix_users_tenant_username_skeleton", "tenant_id", "username_skeleton"),
        # People lists page by (created_at, id), in a tenant or across tenants (issue 20).
        Index("ix_users_created_id", "created_at", "id"),
        Index("ix_users_tenant_created_id", "tenant_id", "created_at", "id"),
        # Contains-search (admin `q`) on PostgreSQL: trigram GIN indexes (pg_trgm) serve
        # LIKE/ILIKE '%term%'. SQLite has no GIN: there they are plain indexes, made only
        # so the schema is the same on both (migration 0014).
        *(Index(f"ix_users_{column}_trgm", column, postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"})
          for column in TRIGRAM_COLUMNS),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    # Shown as typed; the *_normalized twins (NFKC + casefold) carry uniqueness and lookup.
    username: Mapped[str] = mapped_column(String(150))
    username_normalized: Mapped[str] = mapped_column(String(150))
    # Unicode TR 39-style skeleton (idp.accounts.confusables): look-alikes share it.
    username_skeleton: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)

    # OpenID Connect standard claims (Core 1.0 section 5.1).
    name: Mapped[str | None] = mapped_column(String(200))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    nickname: Mapped[str | None] = mapped_column(String(100))
    profile: Mapped[str | None] = mapped_column(String(500))
    picture: Mapped[str | None] = mapped_column(String(500))
    website: Mapped[str | None] = mapped_column(String(500))
    gender: Mapped[str | None] = mapped_column(String(50))
    birthdate: Mapped[date | None]
    zoneinfo: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(35))
    phone_number: Mapped[str | None] = mapped_column(String(40))
    phone_number_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[dict | None] = mapped_column(JSON)
    # Enterprise profile fields without a standard claim.
    department: Mapped[str | None] = mapped_column(String(200))
    manager: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(200))
    employee_number: Mapped[str | None] = mapped_column(String(100))

    # SCIM provisioning (RFC 7643): the directory's own id for the person, the userName it
    # sent when that is not a username of ours (Entra ID sends the UPN, an email form), and
    # when a directory's DELETE retired the person (they then no longer exist for SCIM).
    external_id: Mapped[str | None] = mapped_column(String(255))
    scim_username: Mapped[str | None] = mapped_column(String(320))
    scim_deleted_at: Mapped[datetime | None]
    # The directory's emails and phoneNumbers lists as sent (types, primary); the columns
    # above keep the one address and number the product uses.
    scim_contacts: Mapped[dict | None] = mapped_column(JSON)

    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None]
    last_login_ip: Mapped[str | None] = mapped_column(String(45))

    # Lockout state lives on the row so it survives restarts and is shared by all workers.
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_login_at: Mapped[datetime | None]
    locked_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]

    password_changed_at: Mapped[datetime | None]
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    erased_at: Mapped[datetime | None]

    credential: Mapped[PasswordCredential | None] = relationship(
        back_populates="user", uselist=False, cascade="all, delete-orphan"
    )

    def get_user_id(self) -> str:
        """The OIDC subject: the UUID as text, stable and never reassigned."""
        return str(self.id)


class PasswordCredential(Base):
    __tablename__ = "password_credentials"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="credential")


class PasswordHistory(Base):
    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
