"""Creating and finding people."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.accounts.confusables import username_skeleton
from idp.accounts.normalization import (
    normalize_identifier,
    validate_email_address,
    validate_username,
)
from idp.accounts.password_policy import check_new_password
from idp.accounts.passwords import hash_password
from idp.audit import EventType, record
from idp.config import Config
from idp.errors import Conflict, NotFound
from idp.models.accounts import PasswordCredential, User
from idp.models.tenancy import Tenant
from idp.request_context import RequestContext


def create_user(
    db: Session,
    ctx: RequestContext,
    tenant: Tenant,
    *,
    email: str,
    username: str | None = None,
    password: str | None = None,
    email_verified: bool = False,
    profile: dict | None = None,
    allow_localhost: bool = False,
    config: Config | None = None,
) -> User:
    """Create a person (and their password credential), audited, flushed not committed.

    A password is checked against the tenant's policy here, where it is stored, so no
    caller (CLI, admin API, console, sign-up, bootstrap) can skip it; that needs `config`.
    """
    user = build_user(tenant, email=email, username=username, email_verified=email_verified,
                      profile=profile, allow_localhost=allow_localhost)
    if password is not None:
        if config is None:
            raise TypeError("create_user(password=...) needs config for the password policy")
        check_new_password(config, tenant, password, username=user.username, email=user.email)
    _ensure_unique(db, tenant, user)
    if password is not None:
        user.credential = PasswordCredential(hash=hash_password(password))
        user.password_changed_at = ctx.now
    db.add(user)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise Conflict(TAKEN) from None
    record(db, ctx, EventType.USER_CREATED, subject_id=user.id, tenant_id=tenant.id,
           details={"username": user.username})
    return user


def build_user(tenant: Tenant, **kwargs) -> User:
    """A new person, checked and normalised but not yet added (see new_user_columns)."""
    return User(**new_user_columns(tenant, **kwargs))


def new_user_columns(tenant: Tenant, *, email: str, username: str | None = None,
                     email_verified: bool = False, profile: dict | None = None,
                     allow_localhost: bool = False) -> dict:
    """A new person's checked and normalised columns (create_user, bulk import)."""
    email = validate_email_address(email, allow_localhost=allow_localhost)
    username = validate_username(username or email.split("@", 1)[0])
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant.id,
        "username": username,
        "username_normalized": normalize_identifier(username),
        "username_skeleton": username_skeleton(username),
        "email": email,
        "email_normalized": normalize_identifier(email),
        "email_verified": email_verified,
        **(profile or {}),
    }


TAKEN = "That username or email is already taken."


def user_keys(user) -> set[tuple[str, str]]:
    """The keys that must be unique in a tenant: email, username, username look-alike
    (of a User or of its columns)."""
    columns = user if isinstance(user, dict) else vars(user)
    return {("email", columns["email_normalized"]), ("username", columns["username_normalized"]),
            ("skeleton", columns["username_skeleton"])}


def taken_keys(db: Session, tenant_id: uuid.UUID, users: list) -> set[tuple[str, str]]:
    """Those of the users' unique keys already in use in the tenant (one query per batch)."""
    wanted = set().union(*(user_keys(u) for u in users))
    values = {kind: [v for k, v in wanted if k == kind] for kind in ("email", "username",
                                                                     "skeleton")}
    rows = db.execute(select(User.email_normalized, User.username_normalized,
                             User.username_skeleton).where(User.tenant_id == tenant_id, or_(
        User.email_normalized.in_(values["email"]),
        User.username_normalized.in_(values["username"]),
        User.username_skeleton.in_(values["skeleton"])))).all()
    found = {(kind, value) for row in rows
             for kind, value in zip(("email", "username", "skeleton"), row, strict=True)}
    return wanted & found


def _ensure_unique(db: Session, tenant: Tenant, user: User) -> None:
    if taken_keys(db, tenant.id, [user]):
        raise Conflict(TAKEN)


def username_taken(db: Session, tenant_id: uuid.UUID, username: str,
                   except_user: uuid.UUID | None = None) -> bool:
    """True when the name, or a look-alike of it (TR 39 skeleton), is in use in the tenant."""
    stmt = select(User.id).where(User.tenant_id == tenant_id, or_(
        User.username_normalized == normalize_identifier(username),
        User.username_skeleton == username_skeleton(username)))
    if except_user is not None:
        stmt = stmt.where(User.id != except_user)
    return db.execute(stmt.limit(1)).first() is not None


def find_user_by_login(db: Session, tenant_id: uuid.UUID, login: str) -> User | None:
    """The user whose username or email matches `login` (case- and Unicode-insensitive)."""
    key = normalize_identifier(login)
    column = User.email_normalized if "@" in key else User.username_normalized
    return db.execute(
        select(User).where(User.tenant_id == tenant_id, column == key)
    ).scalar_one_or_none()


def query_user(db: Session, ref: str, tenant_id: uuid.UUID | None = None) -> User:
    """A user by id, username or email (USER in the CLI); NotFound otherwise."""
    try:
        user_id = uuid.UUID(ref)
    except ValueError:
        user_id = None
    if user_id is not None:
        user = db.get(User, user_id)
    else:
        key = normalize_identifier(ref)
        stmt = select(User).where(
            or_(User.username_normalized == key, User.email_normalized == key)
        )
        if tenant_id is not None:
            stmt = stmt.where(User.tenant_id == tenant_id)
        matches = db.execute(stmt).scalars().all()
        if len(matches) > 1:
            raise Conflict(f"{ref!r} matches users in several tenants; use the id.")
        user = matches[0] if matches else None
    if user is None or (tenant_id is not None and user.tenant_id != tenant_id):
        raise NotFound(f"No user {ref!r}.")
    return user
