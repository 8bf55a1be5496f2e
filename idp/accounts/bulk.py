"""Bulk import and export of people (CSV / JSON).

The row rules of an import (idp.accounts.bulk_import runs them in batches): idempotent by
email, a row whose address exists updates that person's profile, otherwise creates them;
one bad row is reported and skipped without losing the others. Pre-hashed passwords
(Argon2 or bcrypt) are stored as they are and re-hashed to our Argon2id at the next login.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts.administration import PROFILE_FIELDS, clean_profile, update_user
from idp.accounts.normalization import normalize_identifier
from idp.accounts.passwords import is_supported_hash
from idp.accounts.users import create_user
from idp.errors import DomainError, ValidationFailed
from idp.models.accounts import PasswordCredential, User
from idp.models.rbac import Role
from idp.models.tenancy import Tenant
from idp.rbac.authorization import (
    Caller,
    Denied,
    authorize,
    ensure_may_grant,
    record_denial,
    require_permission,
)
from idp.rbac.roles import assign_role, query_role
from idp.request_context import RequestContext

IMPORT_COLUMNS = ["email", "username", "password_hash", "roles", *PROFILE_FIELDS]
EXPORT_COLUMNS = ["id", "username", "email", "email_verified", "status", "roles",
                  "created_at", "last_login_at", *PROFILE_FIELDS]
TEXT_PROFILE = [k for k in PROFILE_FIELDS if PROFILE_FIELDS[k] is not None]
# Rows per batch: one uniqueness query, one insert per table and one audit append each.
BATCH = 1000


@dataclass
class RowResult:
    row: int
    email: str
    action: str  # created / updated / unchanged / error
    message: str = ""
    user_id: str | None = None


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def errors(self) -> list[RowResult]:
        return [r for r in self.rows if r.action == "error"]

    def summary(self) -> dict:
        return {"dry_run": self.dry_run, **{a: self.count(a) for a in
                                            ("created", "updated", "unchanged", "error")}}


def read_csv(text: str) -> list[dict]:
    """Rows of a CSV with a header line; unknown columns are refused."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        unknown = sorted(set(reader.fieldnames or []) - set(IMPORT_COLUMNS))
        if not reader.fieldnames or "email" not in reader.fieldnames:
            raise ValidationFailed("The CSV needs a header line with at least an 'email' "
                                   "column.", field="file")
        if unknown:
            raise ValidationFailed(f"Unknown columns: {', '.join(unknown)}.", field="file")
        return list(reader)
    except csv.Error as exc:
        raise ValidationFailed(f"The file is not a readable CSV (line {reader.line_num}: "
                               f"{exc}).", field="file") from None


def _profile(row: dict) -> dict:
    return clean_profile({k: row[k] for k in TEXT_PROFILE if row.get(k) not in (None, "")})


def _check_row(row: dict) -> tuple[str, str | None]:
    """The row's shape, its email and its pre-hashed password (the same rules for new and
    existing people)."""
    email = (row.get("email") or "").strip()
    if None in row:  # csv.DictReader's key for cells beyond the header: a shifted row
        raise ValidationFailed("The row has more cells than the header has columns.")
    if not email:
        raise ValidationFailed("email is empty.")
    hashed = (row.get("password_hash") or "").strip() or None
    if hashed and not is_supported_hash(hashed):
        raise ValidationFailed("password_hash is not an Argon2 or bcrypt hash.")
    return email, hashed


def _role_names(row: dict) -> list[str]:
    return list(filter(None, (r.strip() for r in (row.get("roles") or "").split(";"))))


def _import_row(db: Session, ctx: RequestContext, caller: Caller, tenant: Tenant, row: dict,
                invite: Callable[[User], None] | None) -> tuple[str, User]:
    email, hashed = _check_row(row)
    existing = db.execute(select(User).where(
        User.tenant_id == tenant.id, User.email_normalized == normalize_identifier(email))
    ).scalar_one_or_none()
    if existing is not None:
        authorize(db, caller, existing, "users:write")  # the rank rule, as for one edit
        before = existing.updated_at
        update_user(db, ctx, existing, {k: v for k, v in row.items()
                                        if k in TEXT_PROFILE and v not in (None, "")})
        action = "updated" if existing.updated_at != before else "unchanged"
        user = existing
    else:
        user = create_user(db, ctx, tenant, email=email, username=(row.get("username") or None),
                           profile=_profile(row))
        _set_password_or_invite(user, hashed, ctx, invite)
        action = "created"
    for role in _role_names(row):
        _ensure_may_assign(db, caller, tenant, role, user, {})
        if assign_role(db, ctx, user, role, tenant) and action == "unchanged":
            action = "updated"
    db.flush()
    return action, user


def _set_password_or_invite(user: User, hashed: str | None, ctx: RequestContext,
                            invite: Callable[[User], None] | None) -> None:
    if hashed:
        user.credential = PasswordCredential(hash=hashed)
        user.password_changed_at = ctx.now
    elif invite is not None:
        invite(user)


def _ensure_may_assign(db: Session, caller: Caller, tenant: Tenant, name: str, user: User,
                       roles: dict) -> Role:
    """The rank rule for giving `user` the role (roles: a per-batch cache of query_role)."""
    require_permission(caller, "roles:write", user)
    if name not in roles:
        roles[name] = query_role(db, name, tenant)
    ensure_may_grant(caller, [roles[name]], target=user)
    return roles[name]


def import_one(db: Session, ctx: RequestContext, caller: Caller, tenant: Tenant, number: int,
               row: dict, invite: Callable[[User], None] | None) -> RowResult:
    """One row in its own savepoint, the way every row went before batches: people who
    exist already (updated), repeats within a batch, and a batch whose insert failed."""
    email = (row.get("email") or "").strip()
    try:
        with db.begin_nested():
            action, user = _import_row(db, ctx, caller, tenant, row, invite)
        return RowResult(number, email, action, user_id=str(user.id))
    except DomainError as exc:
        return row_error(db, ctx, caller, number, email, exc)


def row_error(db: Session, ctx: RequestContext, caller: Caller, number: int, email: str,
              exc: DomainError) -> RowResult:
    """The row's error; a refusal by the rank rule is also audited as `authz.denied`."""
    if isinstance(exc, Denied):
        record_denial(db, ctx, caller, exc)
    return RowResult(number, email, "error", exc.message)


def _status(user: User, now) -> str:
    from idp.accounts.lockout import is_locked

    if user.erased_at is not None:
        return "erased"
    if not user.is_active:
        return "disabled"
    return "locked" if is_locked(user, now) else "active"


def export_rows(db: Session, ctx: RequestContext, tenant_id=None) -> Iterable[dict]:
    """Every person (optionally of one tenant) as flat rows, oldest first."""
    from idp.rbac.roles import user_role_names

    stmt = select(User).order_by(User.created_at, User.id)
    if tenant_id is not None:
        stmt = stmt.where(User.tenant_id == tenant_id)
    for user in db.execute(stmt.execution_options(yield_per=500)).scalars():
        row = {"id": str(user.id), "username": user.username, "email": user.email,
               "email_verified": user.email_verified, "status": _status(user, ctx.now),
               "roles": ";".join(user_role_names(db, user)),
               "created_at": user.created_at.isoformat(),
               "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None}
        for key in PROFILE_FIELDS:
            value = getattr(user, key)
            row[key] = value.isoformat() if key == "birthdate" and value else value
        yield row


def count_users(db: Session, tenant_id=None) -> int:
    from sqlalchemy import func

    stmt = select(func.count()).select_from(User)
    if tenant_id is not None:
        stmt = stmt.where(User.tenant_id == tenant_id)
    return db.execute(stmt).scalar_one()


def rows_to_csv(rows: Iterable[dict]) -> Iterable[str]:
    """CSV lines (header first); cells that a spreadsheet would run as formulas are quoted."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else
                             "" if v is None else v) for k, v in row.items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
