"""What the admin API and the console both do, as functions of (db, caller, ...): lists
confined to the caller's tenant and rank, client registration, role and group changes.

Neither adapter calls the other's view functions: each calls these, so a page and its API
route need the same permission and see the same rows (issue 13: the console's clients page
once needed `users:read` because it called the API's role list).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from idp.errors import NotFound, ValidationFailed
from idp.federation.providers import create_provider, managed_groups, update_provider
from idp.keyring import Keyring
from idp.models.accounts import User
from idp.models.base import utcnow
from idp.models.groups import Group, GroupMember
from idp.models.oauth import Client
from idp.models.rbac import Role
from idp.models.tenancy import Tenant
from idp.oauth.clients.initial_access_tokens import DEFAULT_TTL, issue_token
from idp.oauth.clients.service import ClientSpec, create_client
from idp.outbound import PUBLIC_ONLY, OutboundPolicy
from idp.rbac import groups as group_ops
from idp.rbac.access import named_roles, users_with_role
from idp.rbac.authorization import (
    Caller,
    Denied,
    authorize,
    ensure_may_compose,
    ensure_may_grant,
    load_user,
    rights_of,
    visible,
)
from idp.rbac.roles import query_role
from idp.request_context import RequestContext
from idp.tenancy.tenants import query_tenant

STATUSES = {"active", "disabled", "locked", "erased"}
CLIENT_FIELDS = {"name": str, "grant_types": list, "redirect_uris": list,
                 "post_logout_redirect_uris": list, "scopes": list, "public": bool,
                 "first_party": bool, "auth_method": str, "jwks_uri": str, "roles": list,
                 "audiences": list, "token_alg": str, "expires_in": int,
                 "backchannel_logout_uri": str, "backchannel_logout_session_required": bool,
                 "require_pushed_authorization_requests": bool, "require_dpop_nonce": bool,
                 "security_profile": str, "access_token_ttl": int,
                 "refresh_token_ttl": int, "id_token_ttl": int, "require_pkce": bool}
MAX_EXPIRY = 10 * 365 * 86400
MAX_GRACE = 30 * 86400  # how long a rotated-out secret may keep working


# --- lists ---------------------------------------------------------------------------------

def list_clients(db: Session, caller: Caller) -> list[Client]:
    stmt = caller.scoped(select(Client).order_by(Client.created_at, Client.id), Client.tenant_id)
    return visible(db, caller, db.execute(stmt).scalars())


def list_roles(db: Session, caller: Caller) -> list[Role]:
    """Built-in roles and the tenant's own, without those above the caller's rank."""
    stmt = select(Role).order_by(Role.builtin.desc(), Role.name)
    if caller.tenant_scope is not None:
        stmt = stmt.where(or_(Role.tenant_id.is_(None), Role.tenant_id == caller.tenant_scope))
    return visible(db, caller, db.execute(stmt).scalars())


def list_groups(db: Session, caller: Caller) -> list[Group]:
    stmt = caller.scoped(select(Group).order_by(Group.name), Group.tenant_id)
    return visible(db, caller, db.execute(stmt).scalars())


def list_tenants(db: Session, caller: Caller) -> list[Tenant]:
    stmt = caller.scoped(select(Tenant).order_by(Tenant.created_at, Tenant.slug), Tenant.id)
    return list(db.execute(stmt).scalars())


def target_tenant(db: Session, caller: Caller, ref) -> Tenant:
    """Where the caller creates something: its own tenant; a superadmin may name another."""
    tenant = query_tenant(db, str(caller.tenant_id)) if caller.tenant_id else None
    if caller.access.all_tenants and isinstance(ref, str):
        tenant = query_tenant(db, ref)
    if tenant is None:
        raise ValidationFailed("Name the tenant.", field="tenant")
    return tenant


def load_tenant(db: Session, caller: Caller, tenant_id) -> Tenant:
    """A tenant the caller may see; 404 otherwise (also for ids that are not ids)."""
    try:
        tenant = query_tenant(db, str(tenant_id))
    except (NotFound, ValueError):
        tenant = None
    if tenant is None or not caller.sees_tenant(tenant.id):
        raise NotFound("Not found.")
    return tenant


def _status_clause(status: str):
    now = utcnow()
    locked = and_(User.locked_at.is_not(None),
                  or_(User.locked_until.is_(None), User.locked_until > now))
    return {"erased": User.erased_at.is_not(None),
            "disabled": and_(User.is_active.is_(False), User.erased_at.is_(None)),
            "locked": and_(User.is_active.is_(True), locked),
            "active": and_(User.is_active.is_(True), ~locked)}[status]


def filter_people(stmt, args: Mapping[str, str], scope, *, before: datetime | None = None,
                  after: datetime | None = None):
    """The people-list filters of the API and the console (q, status, role, group, dates)."""
    if args.get("q"):
        term = f"%{args['q'].casefold()[:100]}%"
        # ILIKE is lower(...) LIKE lower(...) on SQLite, as before, and on PostgreSQL the
        # form the trigram indexes on name and family_name serve (migration 0014).
        stmt = stmt.where(or_(User.username_normalized.like(term),
                              User.email_normalized.like(term),
                              User.name.ilike(term),
                              User.family_name.ilike(term)))
    if args.get("status"):
        if args["status"] not in STATUSES:
            raise ValidationFailed(f"status must be one of {sorted(STATUSES)}.", field="status")
        stmt = stmt.where(_status_clause(args["status"]))
    if args.get("role"):
        stmt = stmt.where(User.id.in_(users_with_role((args["role"],), scope)))
    if args.get("group"):
        stmt = stmt.where(User.id.in_(select(GroupMember.user_id).join(
            Group, Group.id == GroupMember.group_id).where(_group_match(args["group"]))))
    if before:
        stmt = stmt.where(User.last_login_at < before)
    if after:
        stmt = stmt.where(User.last_login_at > after)
    return stmt


def _group_match(ref: str):
    import uuid

    try:
        return or_(Group.name == ref, Group.id == uuid.UUID(ref))
    except ValueError:
        return Group.name == ref


def export_person(db: Session, ctx: RequestContext, user: User) -> dict:
    """The person's data (GDPR Art. 15/20) for an admin, audited."""
    from idp.audit import EventType, record
    from idp.gdpr.export import export_user

    document = export_user(db, user)
    record(db, ctx, EventType.USER_EXPORTED, subject_id=user.id, tenant_id=user.tenant_id)
    return document


# --- clients -------------------------------------------------------------------------------

def client_usage(db: Session, client: Client) -> list:
    """The client's last 90 days of usage, newest first."""
    from idp.models.oauth import ClientUsageDay

    return db.execute(select(ClientUsageDay).where(ClientUsageDay.client_id == client.id)
                      .order_by(ClientUsageDay.day.desc()).limit(90)).scalars().all()


def client_spec(data: dict) -> ClientSpec:
    """Shape check of a client registration (API body or console form)."""
    unknown = sorted(set(data) - set(CLIENT_FIELDS) - {"tenant"})
    if unknown:
        raise ValidationFailed(f"Unknown fields: {unknown}.", field=unknown[0])
    for key, kind in CLIENT_FIELDS.items():
        value = data.get(key)
        if value is not None and (not isinstance(value, kind) or (
                kind is list and not all(isinstance(v, str) for v in value))
                or (kind is int and (isinstance(value, bool) or not 0 < value <= MAX_EXPIRY))):
            raise ValidationFailed(f"{key} has the wrong type or is out of range.", field=key)
    grants = data.get("grant_types") or (["authorization_code", "refresh_token"]
                                         if data.get("redirect_uris") else ["client_credentials"])
    return ClientSpec(name=data.get("name") or "", grant_types=grants,
                      redirect_uris=data.get("redirect_uris") or [],
                      post_logout_redirect_uris=data.get("post_logout_redirect_uris") or [],
                      scopes=data.get("scopes") or [], public=bool(data.get("public")),
                      first_party=bool(data.get("first_party")),
                      auth_method=data.get("auth_method"), jwks_uri=data.get("jwks_uri"),
                      roles=data.get("roles") or [], audiences=data.get("audiences") or [],
                      token_alg=data.get("token_alg") or "RS256",
                      expires_in=data.get("expires_in"),
                      backchannel_logout_uri=data.get("backchannel_logout_uri"),
                      backchannel_logout_session_required=bool(
                          data.get("backchannel_logout_session_required")),
                      require_pushed_authorization_requests=bool(
                          data.get("require_pushed_authorization_requests")),
                      require_dpop_nonce=bool(data.get("require_dpop_nonce")),
                      security_profile=data.get("security_profile") or None,
                      access_token_ttl=data.get("access_token_ttl"),
                      refresh_token_ttl=data.get("refresh_token_ttl"),
                      id_token_ttl=data.get("id_token_ttl"),
                      require_pkce=bool(data.get("require_pkce")))


def register_client(db: Session, ctx: RequestContext, caller: Caller, keyring: Keyring,
                    data: dict, outbound: OutboundPolicy = PUBLIC_ONLY, limits=None
                    ) -> tuple[Client, str | None]:
    """A client in the caller's tenant (a superadmin may name another), never with roles
    that carry rights the caller lacks; returns it and its secret (shown once)."""
    spec = client_spec(data)
    tenant = target_tenant(db, caller, data.get("tenant"))
    roles = named_roles(db, spec.roles or [], tenant.id)
    if len(roles) != len(set(spec.roles or [])):
        raise ValidationFailed("Unknown role.", field="roles")
    ensure_may_grant(caller, roles, permission="clients:write")
    return create_client(db, ctx, keyring, tenant, spec, outbound, limits)


def edit_client(db: Session, ctx: RequestContext, caller: Caller, keyring: Keyring,
                client: Client, data: dict, outbound: OutboundPolicy = PUBLIC_ONLY,
                limits=None) -> str | None:
    """Change a client's settings (fields left out keep their value) by the rules of
    registration; returns a secret when the change needs a first one."""
    from idp.oauth.clients.service import update_client

    if "tenant" in data:
        raise ValidationFailed("A client stays in its tenant.", field="tenant")
    spec = client_spec({**_current(client), **data})
    spec.jwks = client.jwks
    roles = named_roles(db, spec.roles or [], client.tenant_id)
    if len(roles) != len(set(spec.roles or [])):
        raise ValidationFailed("Unknown role.", field="roles")
    ensure_may_grant(caller, roles, permission="clients:write")
    return update_client(db, ctx, keyring, client, spec, outbound, limits)


def _current(client: Client) -> dict:
    return {"name": client.name, "grant_types": client.grant_types,
            "redirect_uris": client.redirect_uris,
            "post_logout_redirect_uris": client.post_logout_redirect_uris,
            "scopes": client.scopes, "public": client.is_public,
            "first_party": client.first_party, "auth_method": client.token_endpoint_auth_method,
            "jwks_uri": client.jwks_uri, "roles": client.roles, "audiences": client.audiences,
            "token_alg": client.access_token_alg,
            "backchannel_logout_uri": client.backchannel_logout_uri,
            "backchannel_logout_session_required": client.backchannel_logout_session_required,
            "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
            "require_dpop_nonce": client.require_dpop_nonce,
            "security_profile": client.security_profile,
            "access_token_ttl": client.access_token_ttl,
            "refresh_token_ttl": client.refresh_token_ttl, "id_token_ttl": client.id_token_ttl,
            "require_pkce": client.require_pkce}


REGISTRATION_TOKEN_FIELDS = {"tenant", "uses", "expires_in", "grant_types",
                             "redirect_uri_prefixes", "scopes"}


def issue_registration_token(db: Session, ctx: RequestContext, caller: Caller, data: dict):
    """An initial access token for dynamic client registration (RFC 7591) in the caller's
    tenant (a superadmin may name another); returns the row and the token (shown once)."""
    unknown = sorted(set(data) - REGISTRATION_TOKEN_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown fields: {unknown}.", field=unknown[0])
    tenant = target_tenant(db, caller, data.get("tenant"))
    return issue_token(db, ctx, tenant, uses=data.get("uses", 1),
                       expires_in=data.get("expires_in", DEFAULT_TTL),
                       grant_types=data.get("grant_types"),
                       redirect_uri_prefixes=data.get("redirect_uri_prefixes"),
                       scopes=data.get("scopes"))


def rotate_secret(db: Session, ctx: RequestContext, keyring: Keyring, client: Client,
                  grace) -> str:
    """A new secret; the old ones keep working for `grace` seconds (0 to MAX_GRACE)."""
    from idp.oauth.clients.service import rotate_client_secret

    if isinstance(grace, str):
        grace = int(grace.strip()) if grace.strip().isdigit() else -1
    if not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= MAX_GRACE:
        raise ValidationFailed(f"grace must be a whole number of seconds from 0 to "
                               f"{MAX_GRACE} (30 days).", field="grace")
    return rotate_client_secret(db, ctx, keyring, client, grace)


# --- roles and groups ----------------------------------------------------------------------

def create_role(db: Session, ctx: RequestContext, caller: Caller, data: dict) -> Role:
    """A custom role in the caller's tenant (a superadmin may name another)."""
    perms = data.get("permissions", [])
    if isinstance(perms, list):
        ensure_may_compose(caller, perms)
    tenant = target_tenant(db, caller, data.get("tenant"))
    return group_ops.create_role(db, ctx, tenant, data)


def edit_role(db: Session, ctx: RequestContext, caller: Caller, role: Role, data: dict) -> Role:
    """Change a custom role; never to rights the caller lacks (built-in roles are fixed)."""
    if role.tenant_id is None:
        from idp.rbac.authorization import Denied

        raise Denied("Built-in roles cannot be changed.", permission="roles:write", target=role)
    perms = data.get("permissions")
    if isinstance(perms, list):
        ensure_may_compose(caller, perms, target=role)
    return group_ops.update_role(db, ctx, role, data)


def grantable_role(db: Session, caller: Caller, name: str, tenant_id, target=None) -> Role:
    """The role by name in a tenant, if the caller may hand it out (or take it away)."""
    role = query_role(db, name, query_tenant(db, str(tenant_id)))
    ensure_may_grant(caller, [role], target=target)
    return role


def group_member(db: Session, caller: Caller, group: Group, user_ref,
                 permission: str = "roles:write") -> User:
    """A person of the group's tenant whom the caller outranks (by id)."""
    user = load_user(db, caller, user_ref, permission)
    if user.tenant_id != group.tenant_id:
        raise NotFound("Not found.")
    return user


def member_by_name(db: Session, caller: Caller, group: Group, ref: str) -> User:
    """As `group_member`, by username, email or id (the console's form field)."""
    from idp.accounts.users import query_user

    user = query_user(db, ref, group.tenant_id)
    return authorize(db, caller, user, "roles:write")


def register_provider(db: Session, ctx: RequestContext, caller: Caller, keyring: Keyring,
                      spec, tenant_ref: str | None, outbound: OutboundPolicy = PUBLIC_ONLY):
    """An upstream identity provider in the caller's tenant (a superadmin may name another),
    never with default roles that carry rights the caller lacks."""
    tenant = target_tenant(db, caller, tenant_ref)
    _may_hand_out(db, caller, tenant.id, spec)
    return create_provider(db, ctx, keyring, tenant, spec, outbound)


def _may_hand_out(db: Session, caller: Caller, tenant_id, spec) -> None:
    """The provider hands out its roles, and the rights of the groups it manages."""
    ensure_may_grant(caller, named_roles(db, spec.roles, tenant_id), permission="clients:write")
    for group in managed_groups(db, tenant_id, spec.groups):
        if not caller.holds(rights_of(db, group)):
            raise Denied("You cannot grant rights you do not hold.",
                         permission="clients:write", target=group)


def edit_provider(db: Session, ctx: RequestContext, caller: Caller, keyring: Keyring, provider,
                  spec, outbound: OutboundPolicy = PUBLIC_ONLY) -> list[str]:
    """Change a provider the caller sees, under the same rule as registering it."""
    _may_hand_out(db, caller, provider.tenant_id, spec)
    return update_provider(db, ctx, keyring, provider, spec, outbound)
