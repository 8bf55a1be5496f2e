"""Importing people from CSV rows, BATCH rows at a time.

One batch of an import: the rows of new people are checked by the same rules as one
`create_user` (build_user, taken_keys, the rank rule), then inserted together and audited
with one append to the chain (`user.created` and `role.assigned` per person, as before).

Rows about people who exist already, a second row for an address earlier in the batch, and
every row of a batch whose insert fails (another writer took an address meanwhile) go
through `import_one`, a savepoint per row, exactly as every row did before batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.accounts.bulk import (
    BATCH,
    ImportReport,
    RowResult,
    _check_row,
    _ensure_may_assign,
    _profile,
    _role_names,
    import_one,
    row_error,
)
from idp.accounts.normalization import normalize_identifier
from idp.accounts.users import TAKEN, new_user_columns, taken_keys, user_keys
from idp.audit import EventType, record
from idp.audit.record import record_many
from idp.errors import Conflict, DomainError
from idp.models.accounts import PasswordCredential, User
from idp.models.rbac import Role, RoleAssignment
from idp.models.tenancy import Tenant
from idp.rbac.authorization import Caller, Denied, describe_target
from idp.request_context import RequestContext


def import_rows(db: Session, ctx: RequestContext, caller: Caller, tenant: Tenant,
                rows: Iterable[dict], report: ImportReport, *, first_row: int = 2,
                invite: Callable[[User], None] | None = None,
                progress: Callable[[int], None] | None = None) -> None:
    """Import `rows` into `report` inside one savepoint (rolled back for a dry run), BATCH
    rows at a time (import_batch): a bad row is an error of that row, the others
    are kept. A row above the caller's rank is that row's error, audited as `authz.denied`."""
    outer = db.begin_nested()
    numbered = list(enumerate(rows, start=first_row))
    for start in range(0, len(numbered), BATCH):
        part = numbered[start:start + BATCH]
        import_batch(db, ctx, caller, tenant, part, report,
                     None if report.dry_run else invite)
        if progress:
            progress(len(part))
    if report.dry_run:
        outer.rollback()
    else:
        outer.commit()


def import_users(db: Session, ctx: RequestContext, tenant: Tenant, rows: Iterable[dict], *,
                 caller: Caller | None = None, dry_run: bool = False,
                 invite: Callable[[User], None] | None = None,
                 progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import rows (row numbers count the header as line 1) as `caller` (the operator when
    None), then audit `user.imported` with the counts. The caller commits."""
    report = ImportReport(dry_run)
    import_rows(db, ctx, caller or Caller.operator(), tenant, rows, report,
                invite=invite, progress=progress)
    if not dry_run:
        record(db, ctx, EventType.USER_IMPORTED, tenant_id=tenant.id, details=report.summary())
    return report


@dataclass
class NewPerson:
    number: int
    row: dict
    email: str
    user: dict  # the columns of the users row
    hashed: str | None
    roles: list[Role] = field(default_factory=list)


def import_batch(db: Session, ctx: RequestContext, caller: Caller, tenant: Tenant,
                 part: list[tuple[int, dict]], report: ImportReport,
                 invite: Callable[[User], None] | None) -> None:
    """Import the numbered rows of one batch into `report`, in row order."""
    _refresh_statistics(db, part[0][0])
    results: dict[int, RowResult] = {}
    one_by_one: list[tuple[int, dict]] = []
    checked = _checked_rows(db, ctx, caller, part, results)
    existing = _existing_emails(db, tenant, [email for _, _, email, _ in checked])
    candidates: list[tuple[int, dict, str, str | None]] = []
    seen: set[str] = set()
    for number, row, email, hashed in checked:
        key = normalize_identifier(email)
        if key in existing or key in seen:  # an update (of someone this batch may create)
            one_by_one.append((number, row))
        else:
            seen.add(key)
            candidates.append((number, row, email, hashed))
    people = _new_people(db, ctx, caller, tenant, candidates, results)
    if not _insert(db, ctx, tenant, people, invite):
        one_by_one = sorted(one_by_one + [(p.number, p.row) for p in people],
                            key=lambda item: item[0])
    else:
        results.update({p.number: RowResult(p.number, p.email, "created",
                                            user_id=str(p.user["id"])) for p in people})
    for number, row in one_by_one:
        results[number] = import_one(db, ctx, caller, tenant, number, row, invite)
    report.rows.extend(results[number] for number, _ in part)


def _refresh_statistics(db: Session, first_row: int) -> None:
    """ANALYZE the users table on PostgreSQL at batches 0, 1, 2, 4, 8... (each time the
    import may have doubled it). A bulk load outruns autovacuum: planning with the
    statistics of a nearly empty table, the per-batch lookups scan every person of the
    tenant instead of using the unique indexes, and each batch gets slower than the one
    before (100,000 rows did not finish)."""
    batch = (first_row - 2) // BATCH
    if batch & (batch - 1) == 0 and db.get_bind().dialect.name == "postgresql":
        db.execute(text("ANALYZE users"))


def _checked_rows(db, ctx, caller, part, results) -> list[tuple[int, dict, str, str | None]]:
    checked = []
    for number, row in part:
        try:
            checked.append((number, row, *_check_row(row)))
        except DomainError as exc:
            results[number] = row_error(db, ctx, caller, number,
                                        (row.get("email") or "").strip(), exc)
    return checked


def _existing_emails(db: Session, tenant: Tenant, emails: list[str]) -> set[str]:
    keys = {normalize_identifier(e) for e in emails}
    return set(db.execute(select(User.email_normalized).where(
        User.tenant_id == tenant.id, User.email_normalized.in_(keys))).scalars())


def _new_people(db, ctx, caller, tenant, candidates, results) -> list[NewPerson]:
    """The rows that make a new person by create_user's rules; the others become errors."""
    people: list[NewPerson] = []
    for number, row, email, hashed in candidates:
        try:
            user = new_user_columns(tenant, email=email, username=(row.get("username") or None),
                                    profile=_profile(row))
            people.append(NewPerson(number, row, email, user, hashed))
        except DomainError as exc:
            results[number] = row_error(db, ctx, caller, number, email, exc)
    taken = taken_keys(db, tenant.id, [p.user for p in people]) if people else set()
    kept: list[NewPerson] = []
    roles: dict[str, Role] = {}
    for person in people:
        try:
            keys = user_keys(person.user)
            if keys & taken:
                raise Conflict(TAKEN)
            taken |= keys  # a later row with the same username is refused, as before
            person.roles = _roles_to_grant(db, caller, tenant, person, roles)
            kept.append(person)
        except DomainError as exc:
            results[person.number] = row_error(db, ctx, caller, person.number, person.email,
                                               exc)
    return kept


def _roles_to_grant(db, caller, tenant, person: NewPerson, roles: dict) -> list[Role]:
    """The rank rule for each role of the row (the person exists only as columns yet: a
    refusal names them as the audit of a one-by-one row would)."""
    try:
        return [_ensure_may_assign(db, caller, tenant, name, None, roles)
                for name in dict.fromkeys(_role_names(person.row))]
    except Denied as exc:
        exc.target_kind, exc.target_id = describe_target(User(**person.user))
        raise


def _insert(db: Session, ctx: RequestContext, tenant: Tenant, people: list[NewPerson],
            invite: Callable[[User], None] | None) -> bool:
    """Insert and audit the new people in one savepoint; False when the database refused
    (a unique key taken since the check), with nothing of the batch kept."""
    if not people:
        return True
    try:
        with db.begin_nested():
            db.execute(insert(User.__table__), _same_keys([
                {**p.user, "password_changed_at": ctx.now if p.hashed else None}
                for p in people]))
            hashed = [{"user_id": p.user["id"], "hash": p.hashed} for p in people if p.hashed]
            if hashed:
                db.execute(insert(PasswordCredential.__table__), hashed)
            grants = [{"user_id": p.user["id"], "role_id": role.id, "tenant_id": tenant.id}
                      for p in people for role in p.roles]
            if grants:
                db.execute(insert(RoleAssignment.__table__), grants)
            record_many(db, ctx, [event for p in people for event in _events(p, tenant)])
    except IntegrityError:
        return False
    if invite is not None:
        for person in people:
            if not person.hashed:
                invite(db.get(User, person.user["id"]))
    return True


def _same_keys(rows: list[dict]) -> list[dict]:
    """One executemany needs the same columns in every row: an absent profile field is
    NULL, as for one person created without it."""
    keys = set().union(*rows)
    return [{**dict.fromkeys(keys), **row} for row in rows]


def _events(person: NewPerson, tenant: Tenant) -> list[dict]:
    """What create_user and assign_role record for this person."""
    user = person.user
    events = [{"type": EventType.USER_CREATED, "subject_id": user["id"], "tenant_id": tenant.id,
               "details": {"username": user["username"]}}]
    held: list[str] = []
    for role in person.roles:
        events.append({"type": EventType.ROLE_ASSIGNED, "subject_id": user["id"],
                       "tenant_id": tenant.id, "details": {
                           "role": role.name, "before": sorted(held),
                           "after": sorted({*held, role.name})}})
        held.append(role.name)
    return events
