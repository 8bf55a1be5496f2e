"""Administration safeguards: nobody removes the tenant's last admin or their own rights.

Shared by the person, role, group and erasure services (and through them by the API,
console, CLI and SCIM), so the rule has one home below all of them.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.errors import Conflict
from idp.models.accounts import User
from idp.rbac.access import user_access, users_with_role
from idp.rbac.roles import ADMIN_ROLES
from idp.request_context import RequestContext


def ensure_not_last_admin(db: Session, user: User, without_role: str | None = None,
                          losing: set[str] | None = None) -> None:
    """Conflict when `user` is the tenant's last active admin (or last superadmin)."""
    if losing is None:
        roles = user_access(db, user).roles
        losing = (roles & set(ADMIN_ROLES)) if without_role is None else (
            roles & {without_role} & set(ADMIN_ROLES))
    for role in losing:
        tenant = None if role == "superadmin" else user.tenant_id
        others = db.execute(select(func.count()).select_from(User).where(
            User.id.in_(users_with_role((role, "superadmin") if tenant else (role,), tenant)),
            User.id != user.id, User.is_active.is_(True), User.erased_at.is_(None))).scalar_one()
        if others == 0:
            raise Conflict(f"This is the last active {role}; appoint another first.",
                           code="last_admin")


def ensure_not_self(actor_id: str | None, user: User, what: str) -> None:
    if actor_id == str(user.id):
        raise Conflict(f"You cannot {what} your own account.", code="self_action")


def ensure_actor_keeps_role_admin(db: Session, ctx: RequestContext) -> None:
    """No self-lockout: call after a flushed change to roles, groups or assignments; the
    acting person must still hold `roles:write` (else Conflict, rolled back with the request).

    Checked on the effective result rather than on what the change names, because the right
    can reach the actor directly, through any group, or through a custom role."""
    try:
        actor_id = uuid.UUID(ctx.actor_id or "")
    except ValueError:
        return  # the operator's CLI ("system") or a service client: nobody to lock out
    actor = db.get(User, actor_id)
    if actor is not None and "roles:write" not in user_access(db, actor).permissions:
        raise Conflict("You cannot remove your own administration rights.", code="self_action")
