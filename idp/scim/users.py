"""SCIM Users (RFC 7643 4.1, enterprise extension 4.3) over our people.

Every change goes through the account services (create_user, update_user, disable_user,
enable_user, erase_user) and every access through the admin authorization rule, so SCIM
adds no rule of its own beyond what SCIM itself defines: userName uniqueness in SCIM's
sense, and a DELETE after which the person no longer exists for SCIM.
"""

from __future__ import annotations

import uuid

from scim2_models import EnterpriseUser
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.accounts import administration as admin_ops
from idp.accounts.normalization import validate_username
from idp.accounts.profile import PROFILE_FIELDS, clean_profile
from idp.accounts.users import create_user, username_taken
from idp.audit import EventType, record
from idp.errors import Conflict, NotFound
from idp.models.accounts import User
from idp.models.groups import Group, GroupMember
from idp.models.tenancy import Tenant
from idp.rbac.authorization import Caller, load_user, require_permission
from idp.request_context import RequestContext
from idp.scim.protocol import CORE_USER, ENTERPRISE_USER, ScimError, version_of
from idp.tenancy.settings import scim_deprovisioning

# SCIM attribute -> our column, for the simple (single-valued string) attributes.
# `locale` and `timezone` are not taken: the person sets them on /account, where they are
# checked as BCP 47 tags and IANA zones.
SIMPLE = {"displayName": "name", "nickName": "nickname", "profileUrl": "profile",
          "externalId": "external_id"}
NAME_PARTS = {"givenName": "given_name", "familyName": "family_name",
              "middleName": "middle_name"}
ENTERPRISE = {"employeeNumber": "employee_number", "department": "department"}
# What a SCIM User is made of: a list loads only these (not the lockout and login state).
DOCUMENT_COLUMNS = (User.id, User.tenant_id, User.username, User.scim_username, User.is_active,
                    User.name, User.nickname, User.profile, User.external_id, User.given_name,
                    User.family_name, User.middle_name, User.email, User.phone_number,
                    User.scim_contacts, User.department, User.employee_number, User.manager,
                    User.created_at, User.updated_at)


def scim_user_name(user: User) -> str:
    return user.scim_username or user.username


def user_name_column():
    """userName as SCIM sees it (case-insensitive, RFC 7643 4.1.1)."""
    return func.lower(func.coalesce(User.scim_username, User.username))


def live(stmt):
    """Only people that exist for SCIM: neither erased nor deleted by a directory."""
    return stmt.where(User.erased_at.is_(None), User.scim_deleted_at.is_(None))


def groups_of(db: Session, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Group]]:
    """Each person's groups, in one query for a whole page."""
    out: dict[uuid.UUID, list[Group]] = {i: [] for i in user_ids}
    rows = db.execute(select(GroupMember.user_id, Group).join(
        Group, Group.id == GroupMember.group_id).where(GroupMember.user_id.in_(user_ids)))
    for user_id, group in rows:
        out[user_id].append(group)
    return out


def to_document(user: User, base: str, groups: list[Group]) -> dict:
    """The SCIM User for a person (plain JSON, before attribute selection)."""
    doc: dict = {"schemas": [CORE_USER, ENTERPRISE_USER], "id": str(user.id),
                 "userName": scim_user_name(user), "active": bool(user.is_active)}
    doc.update({k: getattr(user, col) for k, col in SIMPLE.items() if getattr(user, col)})
    name = {k: getattr(user, col) for k, col in NAME_PARTS.items() if getattr(user, col)}
    if name:
        doc["name"] = name
    for key, current in (("emails", user.email), ("phoneNumbers", user.phone_number)):
        if current:
            doc[key] = _contacts(user, key, current)
    if groups:
        doc["groups"] = [{"value": str(g.id), "display": g.name, "type": "direct",
                          "$ref": f"{base}/Groups/{g.id}"} for g in groups]
    enterprise = {k: getattr(user, col) for k, col in ENTERPRISE.items() if getattr(user, col)}
    if user.manager:
        enterprise["manager"] = {"value": user.manager}
    if enterprise:
        doc[ENTERPRISE_USER] = enterprise
    doc["meta"] = {"resourceType": "User", "created": _iso(user.created_at),
                   "lastModified": _iso(user.updated_at or user.created_at),
                   "location": f"{base}/Users/{user.id}", "version": version_of(doc)}
    return doc


def _contacts(user: User, key: str, current: str) -> list[dict]:
    """The directory's list as sent while its chosen entry is still ours, else ours alone."""
    sent = (user.scim_contacts or {}).get(key)
    chosen = _pick_plain(sent or [])
    if chosen and chosen.strip().casefold() == current.casefold():  # as we normalised it
        return sent
    return [{"value": current, "type": "work", "primary": True}]


def _pick_plain(entries: list[dict]) -> str | None:
    for test in (lambda e: e.get("primary") is True, lambda e: e.get("type") == "work",
                 lambda e: True):
        for entry in entries:
            if entry.get("value") and test(entry):
                return entry["value"]
    return None


def _check_length(name: str, value, limit: int) -> None:
    """What the directory owns is stored as sent, so its size is checked here."""
    if value is not None and len(str(value)) > limit:
        raise ScimError(400, f"{name} is longer than {limit} characters.", "invalidValue")


def _plain(entries) -> list[dict] | None:
    """scim2-models multi-valued entries as stored JSON (value, type, primary)."""
    out = []
    for entry in entries or []:
        if not getattr(entry, "value", None):
            continue
        _check_length("value", entry.value, 320)
        item = {"value": str(entry.value)}
        if entry.type is not None:
            item["type"] = str(getattr(entry.type, "value", entry.type))
        if entry.primary is not None:
            item["primary"] = bool(entry.primary)
        out.append(item)
    return out[:20] or None


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z") if value.tzinfo else value.isoformat() + "Z"


def wanted_fields(resource) -> tuple[dict, bool | None]:
    """Our fields (every mapped one: None when absent) and `active` (None: not sent)."""
    if not resource.user_name or not str(resource.user_name).strip():
        raise ScimError(400, "userName is required.", "invalidValue")
    fields = {col: getattr(resource, _snake(k)) for k, col in SIMPLE.items()}
    parts = resource.name
    fields.update({col: getattr(parts, _snake(k)) if parts else None
                   for k, col in NAME_PARTS.items()})
    if not fields["name"] and parts and parts.formatted:
        fields["name"] = parts.formatted
    contacts = {"emails": _plain(resource.emails), "phoneNumbers": _plain(resource.phone_numbers)}
    # We keep one address and one number: the primary entry, else the work one, else the first.
    fields["phone_number"] = _pick_plain(contacts["phoneNumbers"] or [])
    extension = resource[EnterpriseUser]
    fields.update({col: getattr(extension, _snake(k)) if extension else None
                   for k, col in ENTERPRISE.items()})
    manager = extension.manager if extension else None
    fields["manager"] = str(manager.value) if manager and manager.value else None
    user_name = str(resource.user_name).strip()
    _check_length("userName", user_name, 320)
    _check_length("externalId", fields["external_id"], 255)
    fields["email"] = _pick_plain(contacts["emails"] or []) or (
        user_name if "@" in user_name else None)
    fields["user_name"] = user_name
    # Kept only where it says more than the one value we answer by default.
    fields["scim_contacts"] = {k: v for k, v in contacts.items() if v and v != [
        {"value": _pick_plain(v), "type": "work", "primary": True}]} or None
    return fields, resource.active


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _ensure_user_name_free(db: Session, tenant_id, user_name: str, user_id=None) -> None:
    stmt = live(select(User.id).where(User.tenant_id == tenant_id,
                                      user_name_column() == user_name.lower()))
    if user_id is not None:
        stmt = stmt.where(User.id != user_id)
    if db.execute(stmt).first():
        raise Conflict("That userName is already taken.")


def _username_for(db: Session, tenant_id, user_name: str, current: User | None) -> str:
    """Our username: the userName itself, or for an email-form userName (Entra ID's UPN)
    its local part, numbered when taken (the sign-in name; userName stays as sent)."""
    if "@" not in user_name:
        return user_name
    if current is not None:
        return current.username
    base = validate_username(user_name.split("@", 1)[0])
    for n in range(1, 1000):
        candidate = base if n == 1 else f"{base}{n}"
        if not username_taken(db, tenant_id, candidate):
            return candidate
    raise Conflict("No free username for that userName.")


def create(db: Session, ctx: RequestContext, caller: Caller, tenant: Tenant, resource) -> User:
    """POST /Users (RFC 7644 3.3)."""
    require_permission(caller, "users:write")
    fields, active = wanted_fields(resource)
    if not fields["email"]:
        raise ScimError(400, "A person here needs an email: send emails or an email-form "
                             "userName.", "invalidValue")
    _ensure_user_name_free(db, tenant.id, fields["user_name"])
    profile = clean_profile({k: v for k, v in fields.items() if k in PROFILE_FIELDS})
    user = create_user(db, ctx, tenant, email=fields["email"],
                       username=_username_for(db, tenant.id, fields["user_name"], None),
                       profile={k: v for k, v in profile.items() if v is not None})
    user.scim_username = fields["user_name"] if "@" in fields["user_name"] else None
    user.scim_contacts, user.external_id = fields["scim_contacts"], fields["external_id"]
    db.flush()
    if active is False:
        _set_active(db, ctx, caller, user, False)
    return user


def update(db: Session, ctx: RequestContext, caller: Caller, user: User, resource) -> User:
    """PUT or PATCH (after the patch was applied to the current resource): change what
    differs through update_user, then `active` through disable/enable."""
    fields, active = wanted_fields(resource)
    directory = {"scim_username": None, "scim_contacts": fields.pop("scim_contacts"),
                 "external_id": fields.pop("external_id")}
    user_name = fields.pop("user_name")
    if user_name != scim_user_name(user):
        _ensure_user_name_free(db, user.tenant_id, user_name, user.id)
        fields["username"] = _username_for(db, user.tenant_id, user_name, user)
    directory["scim_username"] = user_name if "@" in user_name else None
    _set_directory_state(db, ctx, caller, user, directory)
    if not fields["email"]:
        raise ScimError(400, "A person here needs an email.", "invalidValue")
    changes = {k: v for k, v in fields.items() if getattr(user, k) != v}
    if changes:
        require_permission(caller, "users:write", user)
        admin_ops.update_user(db, ctx, user, changes)
    if active is not None and active != user.is_active:
        _set_active(db, ctx, caller, user, active)
    return user


def _set_directory_state(db: Session, ctx: RequestContext, caller: Caller, user: User,
                         values: dict) -> None:
    """What only the directory owns (its userName, externalId, contact lists), audited.
    Kept out of the admin API's editable fields, so an admin's PUT cannot drop them."""
    changed = sorted(column for column, value in values.items()
                     if getattr(user, column) != value)
    if not changed:
        return
    require_permission(caller, "users:write", user)
    for column in changed:
        setattr(user, column, values[column])
    db.flush()
    record(db, ctx, EventType.USER_UPDATED, subject_id=user.id, tenant_id=user.tenant_id,
           details={"fields": changed})


def _set_active(db: Session, ctx: RequestContext, caller: Caller, user: User,
                active: bool) -> None:
    """`active: false` ends sessions and refresh tokens now (disable_user); true re-enables."""
    load_user(db, caller, user.id, "users:disable")
    if active:
        admin_ops.enable_user(db, ctx, user)
    else:
        admin_ops.disable_user(db, ctx, user)


def deprovision(db: Session, ctx: RequestContext, caller: Caller, user_id: str, tenant: Tenant,
                erase_key: bytes) -> None:
    """DELETE /Users/{id}: the tenant's choice, disable (default) or GDPR erasure; either way
    the person no longer exists for SCIM (RFC 7644 3.6)."""
    mode = scim_deprovisioning(tenant.settings)
    user = load_live(db, caller, user_id, "users:erase" if mode == "erase" else "users:disable")
    record(db, ctx, EventType.USER_DEPROVISIONED, subject_id=user.id, tenant_id=user.tenant_id,
           details={"mode": mode})
    if mode == "erase":
        from idp.gdpr.erasure import erase_user

        erase_user(db, ctx, user, str(user.id), erase_key)
        return
    admin_ops.disable_user(db, ctx, user)
    user.scim_deleted_at = ctx.now
    db.flush()


def load_live(db: Session, caller: Caller, user_id, permission: str) -> User:
    """A person of the SCIM client's own tenant it may act on, who exists for SCIM."""
    user = load_user(db, caller, user_id, permission)
    if user.tenant_id != caller.tenant_id or user.erased_at or user.scim_deleted_at:
        raise NotFound("Not found.")
    return user
