"""Reading SCIM resources: documents, and lists with filter, sort and pagination
(RFC 7644 3.4.2), confined to the client's tenant and to people it outranks."""

from __future__ import annotations

from sqlalchemy import func, literal, select, true
from sqlalchemy.orm import Session, load_only

from idp.errors import NotFound
from idp.models.accounts import User
from idp.models.groups import Group, GroupMember
from idp.models.tenancy import Tenant
from idp.rbac.authorization import Caller, require_permission, visible, visible_users
from idp.scim import groups as scim_groups
from idp.scim import users as scim_users
from idp.scim.filters import Attribute, has_member, to_sql
from idp.scim.protocol import (
    LIST_RESPONSE,
    MAX_COUNT,
    GroupModel,
    ScimError,
    UserModel,
    render,
    response_parameters,
)

USER_FILTERS = {
    "username": Attribute(func.coalesce(User.scim_username, User.username)),
    "emails.value": Attribute(User.email),
    "emails.type": Attribute("work", "constant", present=User.email.is_not(None)),
    "externalid": Attribute(User.external_id, case_exact=True),
    "displayname": Attribute(User.name),
    "nickname": Attribute(User.nickname),
    "name.givenname": Attribute(User.given_name),
    "name.familyname": Attribute(User.family_name),
    "phonenumbers.value": Attribute(User.phone_number),
    "active": Attribute(User.is_active, "bool", present=true()),
    "id": Attribute(User.id, "id"),
    "meta.created": Attribute(User.created_at, "datetime"),
    "meta.lastmodified": Attribute(User.updated_at, "datetime"),
    "department": Attribute(User.department),
    "employeenumber": Attribute(User.employee_number, case_exact=True),
    "manager.value": Attribute(User.manager, case_exact=True),
}
GROUP_FILTERS = {
    "displayname": Attribute(Group.name),
    "externalid": Attribute(Group.external_id, case_exact=True),
    "id": Attribute(Group.id, "id"),
    "members.value": Attribute(has_member(GroupMember, Group.id), "member",
                               present=select(GroupMember.user_id).where(
                                   GroupMember.group_id == Group.id).exists()),
    "meta.created": Attribute(Group.created_at, "datetime"),
    "meta.lastmodified": Attribute(Group.created_at, "datetime"),
}
USER_SORT = {"username": func.lower(func.coalesce(User.scim_username, User.username)),
             "displayname": User.name, "externalid": User.external_id,
             "emails.value": User.email, "emails": User.email,
             "meta.created": User.created_at, "meta.lastmodified": User.updated_at}
GROUP_SORT = {"displayname": Group.name, "externalid": Group.external_id,
              "meta.created": Group.created_at, "meta.lastmodified": Group.created_at}
CORE_PREFIXES = ("urn:ietf:params:scim:schemas:core:2.0:user:",
                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:",
                 "urn:ietf:params:scim:schemas:core:2.0:group:")


def own_tenant(db: Session, caller: Caller) -> Tenant:
    tenant = db.get(Tenant, caller.tenant_id)
    if tenant is None:
        raise NotFound("Not found.")
    return tenant


def user_document(db: Session, user: User, base: str) -> dict:
    return scim_users.to_document(user, base, scim_users.groups_of(db, [user.id])[user.id])


def group_document(db: Session, caller: Caller, group: Group, base: str) -> dict:
    members = scim_groups.members_of(db, caller, [group.id])[group.id]
    return scim_groups.to_document(group, base, members)


def whole_list(items: list[dict]) -> dict:
    return {"schemas": [LIST_RESPONSE], "totalResults": len(items), "startIndex": 1,
            "itemsPerPage": len(items), "Resources": items}


def search_args(body: dict) -> dict:
    """POST .search (RFC 7644 3.4.3): the same parameters as a GET, from the body."""
    out = {}
    for key in ("filter", "sortBy", "sortOrder", "startIndex", "count"):
        if body.get(key) is not None:
            out[key] = str(body[key])
    for key in ("attributes", "excludedAttributes"):
        value = body.get(key)
        if value:
            out[key] = ",".join(value) if isinstance(value, list) else str(value)
    return out


def _integer(args, name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ScimError(400, f"{name} must be an integer.", "invalidValue") from None


def _page(db: Session, stmt, args, sorts: dict, default_order):
    """(total, rows, start) for startIndex/count (1-based, RFC 7644 3.4.2.4) and sortBy.
    The total rides on the page query (a window count): one round trip, not two."""
    start = max(_integer(args, "startIndex", 1), 1)
    count = min(max(_integer(args, "count", 100), 0), MAX_COUNT)
    order = _order(args, sorts, default_order)
    rows = db.execute(stmt.add_columns(func.count().over()).order_by(*order)
                      .offset(start - 1).limit(count)).all() if count else []
    if rows:
        return rows[0][1], [row[0] for row in rows], start
    # an empty page (count=0, or past the end) still reports how many there are
    return db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one(), [], start


def _order(args, sorts: dict, default_order) -> list:
    order = list(default_order)
    if args.get("sortBy"):
        key = args["sortBy"].lower()
        for prefix in CORE_PREFIXES:
            key = key.removeprefix(prefix)
        if key not in sorts:
            raise ScimError(400, f"Cannot sort by {args['sortBy']!r}.", "invalidValue")
        column = sorts[key]
        descending = str(args.get("sortOrder", "ascending")).lower() == "descending"
        order = [column.desc() if descending else column.asc(), *order]
    return order


def _listed(model, documents: list[dict], total: int, start: int, args) -> dict:
    params = response_parameters(model, args.get("attributes"), args.get("excludedAttributes"))
    resources = [render(model, d, params) for d in documents]
    return {"schemas": [LIST_RESPONSE], "totalResults": total, "startIndex": start,
            "itemsPerPage": len(resources), "Resources": resources}


def _where(args, attributes: dict):
    return to_sql(args["filter"], attributes) if args.get("filter") else literal(True)


def list_users(db: Session, caller: Caller, base: str, args) -> dict:
    """GET /Users: live people of the client's tenant whom it outranks."""
    require_permission(caller, "users:read")
    stmt = visible_users(db, caller, scim_users.live(select(User).where(
        User.tenant_id == caller.tenant_id)).options(load_only(*scim_users.DOCUMENT_COLUMNS)))
    stmt = stmt.where(_where(args, USER_FILTERS))
    total, rows, start = _page(db, stmt, args, USER_SORT, (User.created_at, User.id))
    groups = scim_users.groups_of(db, [u.id for u in rows])
    documents = [scim_users.to_document(u, base, groups[u.id]) for u in rows]
    return _listed(UserModel, documents, total, start, args)


def list_groups(db: Session, caller: Caller, base: str, args) -> dict:
    """GET /Groups: the client's tenant's groups it outranks (the rank rule per group)."""
    require_permission(caller, "users:read")
    stmt = select(Group).where(Group.tenant_id == caller.tenant_id,
                               _where(args, GROUP_FILTERS))
    rows = visible(db, caller, db.execute(stmt.order_by(Group.created_at, Group.id)
                                          ).scalars().all())
    allowed = [g.id for g in rows]
    stmt = stmt.where(Group.id.in_(allowed)) if allowed else stmt.where(literal(False))
    total, rows, start = _page(db, stmt, args, GROUP_SORT, (Group.created_at, Group.id))
    members = scim_groups.members_of(db, caller, [g.id for g in rows])
    documents = [scim_groups.to_document(g, base, members[g.id]) for g in rows]
    return _listed(GroupModel, documents, total, start, args)
