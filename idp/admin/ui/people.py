"""Console pages for people: list with badges, detail, and confirmed actions."""

from __future__ import annotations

from flask import request
from sqlalchemy import and_, func, or_, select

from idp.accounts import administration as admin_ops
from idp.accounts.person_mail import deliver, in_persons_language
from idp.admin import operations as ops
from idp.admin.permissions import admin_context, load_user, require, resolve_caller
from idp.admin.schemas import people_json, session_json, user_json
from idp.admin.ui import bp
from idp.admin.ui.common import done, keep_for_next_page, page, refused_input, take_once
from idp.errors import Conflict, ValidationFailed
from idp.extensions import db
from idp.gdpr.erasure import erase_user
from idp.http import services
from idp.models.accounts import User
from idp.models.base import utcnow
from idp.models.sessions import UserSession
from idp.rbac.authorization import require_permission, visible_users
from idp.rbac.roles import assign_role
from idp.sessions.service import revoke_user_sessions
from idp.tenancy.tenants import query_tenant

PAGE_SIZE = 50
# action: (permission, title, explanation, button)
ACTIONS = {
    "disable": ("users:disable", "Disable this account",
                "They cannot sign in, and every session and token they hold ends now.", "Disable"),
    "enable": ("users:disable", "Enable this account", "They can sign in again.", "Enable"),
    "unlock": ("users:unlock", "Unlock this account",
               "The lock after failed sign-ins is lifted and the counter reset.", "Unlock"),
    "require-password-change": ("users:write", "Require a new password",
                                "At their next sign-in they must choose a new password "
                                "before anything else.", "Require a new password"),
    "revoke-sessions": ("sessions:revoke", "Sign them out everywhere",
                        "Every browser session and token family ends now.", "Revoke sessions"),
    "reset-mfa": ("mfa:reset", "Reset two-step verification",
                  "Their authenticator apps, passkeys and backup codes are removed.", "Reset MFA"),
    "send-reset": ("users:write", "Send a password reset",
                   "They get a mail with a one-time link to choose a new password. Their "
                   "current password keeps working until they use it.", "Send reset mail"),
    "resend-verification": ("users:write", "Resend the verification mail",
                            "They get a new link to confirm their email address.",
                            "Resend verification"),
    "delete": ("users:write", "Delete this account",
               "The account and everything attached to it is removed. The audit trail stays.",
               "Delete"),
    "erase": ("users:erase", "Erase personal data (GDPR)",
              "Irreversible: the profile is anonymised, credentials, factors, sessions and "
              "consents are removed, and personal data in the audit log is pseudonymised.",
              "Erase permanently"),
}


@bp.get("/users")
@require("users:read")
def users():
    caller = resolve_caller(check_csrf=False)
    stmt = ops.filter_people(visible_users(db.session, caller, select(User)), request.args,
                             caller.tenant_scope)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    after = request.args.get("after")
    if after:
        last = db.session.get(User, _uuid(after))
        if last is not None:
            stmt = stmt.where(or_(User.created_at > last.created_at,
                                  and_(User.created_at == last.created_at, User.id > last.id)))
    rows = db.session.execute(stmt.order_by(User.created_at, User.id).limit(PAGE_SIZE + 1)
                              ).scalars().all()
    more = len(rows) > PAGE_SIZE
    people = people_json(db.session, rows[:PAGE_SIZE])
    from urllib.parse import urlencode

    query = {k: v for k, v in request.args.items() if k != "after"}
    next_link = urlencode({**query, "after": people[-1]["id"]}) if more else None
    return page("admin/users.html", people=people, args=request.args, next_link=next_link,
                roles=_role_names(), total=total)


def _uuid(value: str):
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _role_names() -> list[str]:
    """Roles the caller may hand out (the rank rule hides the others)."""
    return [r.name for r in ops.list_roles(db.session, resolve_caller(check_csrf=False))]


@bp.get("/users/<user_id>")
@require("users:read")
def user_detail(user_id):
    user = load_user(user_id)
    sessions = db.session.execute(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
        UserSession.expires_at > utcnow()).order_by(UserSession.created_at.desc())).scalars()
    from idp.audit.query import AuditFilter, query_events, serialise_event
    from idp.federation.identities import describe_identity, list_identities

    events, _ = query_events(db.session, AuditFilter(user=user.id), limit=15)
    from idp.mfa.enrolment import summarize_factors
    from idp.sessions.devices import describe_device

    identities = [describe_identity(i, p) for i, p in list_identities(db.session, user)]
    return page("admin/user_detail.html", person=user_json(db.session, user),
                identities=identities,
                profile_fields=PROFILE_FORM, factors=summarize_factors(db.session, user),
                locked_until=user.locked_until, temporary=take_once("password", str(user.id)),
                sessions=[{**session_json(s), "device": describe_device(s.user_agent)}
                          for s in sessions], actions=ACTIONS,
                events=[serialise_event(e) for e in events], roles=_role_names())


@bp.get("/users/<user_id>/<action>")
def confirm_action(user_id, action):
    spec = _action(action)
    person = load_user(user_id, spec[0])
    return page("admin/confirm.html", person=user_json(db.session, person),
                action=action, spec=spec)


def _action(action: str):
    spec = ACTIONS.get(action)
    if spec is None:
        from idp.errors import NotFound

        raise NotFound("No such action.")
    require_permission(resolve_caller(check_csrf=False), spec[0])
    return spec


@bp.post("/users/<user_id>/<action>")
def run_action(user_id, action):
    user = load_user(user_id, _action(action)[0])
    ctx = admin_context()
    label = user.username
    if action == "disable":
        admin_ops.disable_user(db.session, ctx, user)
    elif action == "enable":
        admin_ops.enable_user(db.session, ctx, user)
    elif action == "unlock":
        admin_ops.unlock_user(db.session, ctx, user)
    elif action == "require-password-change":
        from idp.accounts.password_changes import require_password_change

        require_password_change(db.session, ctx, user)
    elif action == "revoke-sessions":
        revoke_user_sessions(db.session, ctx, user.id, reason="admin")
        admin_ops.revoke_user_grants(db.session, ctx, user.id, "admin")
    elif action == "reset-mfa":
        from idp.mfa.notices import notify_factor_change
        from idp.mfa.reset import reset_mfa

        reset_mfa(db.session, ctx, user, request.form.get("reason", ""))
        db.session.commit()
        notify_factor_change(services().mailer, user, "reset")  # after the commit
    elif action in {"send-reset", "resend-verification"}:
        return _send_account_mail(ctx, user, action)
    elif action == "delete":
        admin_ops.delete_user(db.session, ctx, user)
        db.session.commit()
        return done(f"{label} was deleted.", "admin_ui.users")
    elif action == "erase":
        if request.form.get("confirm_username") != user.username:
            raise ValidationFailed("Type the username exactly to confirm the erasure.")
        erase_user(db.session, ctx, user, str(user.id),
                   services().keyring.derive("audit-pseudonyms"))
    db.session.commit()
    return done(f"Done: {ACTIONS[action][3].lower()} for {label}.", "admin_ui.user_detail",
                user_id=user_id)


@bp.post("/users/<user_id>/roles")
@require("roles:write")
def add_role(user_id):
    user = load_user(user_id, "roles:write")
    role = ops.grantable_role(db.session, resolve_caller(), request.form.get("role", ""),
                              user.tenant_id, user)
    assign_role(db.session, admin_context(), user, role.name,
                query_tenant(db.session, str(user.tenant_id)))
    db.session.commit()
    return done(f"{user.username} now holds {role.name}.", "admin_ui.user_detail", user_id=user_id)


@bp.get("/users/<user_id>/roles/<role_name>/remove")
@require("roles:write")
def confirm_remove_role(user_id, role_name):
    from flask import url_for

    user = load_user(user_id, "roles:write")
    role = ops.grantable_role(db.session, resolve_caller(), role_name, user.tenant_id, user)
    back = url_for("admin_ui.user_detail", user_id=user_id)
    return page("admin/confirm_step.html", title=f"Take {role.name} from {user.username}",
                subject=f"{user.name or user.username} ({user.email or user.username})",
                text=f"{user.username} loses the rights of {role.name} at once (rights the "
                     "person also holds through a group stay).",
                button="Remove role", danger=True, grace=None, cancel=back,
                action=url_for("admin_ui.remove_role", user_id=user_id, role_name=role.name))


@bp.post("/users/<user_id>/roles/<role_name>/remove")
@require("roles:write")
def remove_role(user_id, role_name):
    user = load_user(user_id, "roles:write")
    role = ops.grantable_role(db.session, resolve_caller(), role_name, user.tenant_id, user)
    admin_ops.revoke_role(db.session, admin_context(), user, role)
    db.session.commit()
    return done(f"{role.name} was taken from {user.username}.", "admin_ui.user_detail",
                user_id=user_id)


PROFILE_FORM = ("name", "given_name", "family_name", "phone_number", "department", "manager",
                "location", "locale", "zoneinfo")


@bp.post("/users/<user_id>/profile")
@require("users:write")
def edit_profile(user_id):
    """The same allowlisted PATCH as the API; an emptied field is cleared."""
    user = load_user(user_id, "users:write")
    data = {k: (request.form.get(k) or "").strip() or None for k in PROFILE_FORM
            if k in request.form}
    for key in ("username", "email"):
        if (request.form.get(key) or "").strip():
            data[key] = request.form[key].strip()
    admin_ops.update_user(db.session, admin_context(), user, data)
    db.session.commit()
    return done(f"{user.username}'s profile was saved.", "admin_ui.user_detail", user_id=user_id)


@bp.get("/users/<user_id>/export.json")
@require("users:export")
def export_person(user_id):
    from idp.http import json_attachment

    user = load_user(user_id, "users:export")
    document = ops.export_person(db.session, admin_context(), user)
    db.session.commit()
    return json_attachment(document, f"user-{user.id}.json")


def _send_account_mail(ctx, user, action: str):
    """A reset or verification link for the person, mailed after the commit."""
    from idp.accounts import account_mail
    from idp.accounts.password_reset import request_reset
    from idp.accounts.registration import resend_verification

    if action == "send-reset":
        tenant = query_tenant(db.session, str(user.tenant_id))
        _, token = request_reset(db.session, ctx, services().config, tenant, user.email or "")
        if token is None:
            raise ValidationFailed("Only an active account with an email address gets a "
                                   "reset mail.")
        with in_persons_language(user.locale) as language:
            message = account_mail.reset_mail(user.email, _link("self_service.reset", token),
                                              services().config.password_reset_ttl // 60)
    else:
        token = resend_verification(db.session, ctx, user)
        if token is None:
            raise ValidationFailed("The address is verified already (or there is none).")
        with in_persons_language(user.locale) as language:
            message = account_mail.verification_mail(user.email,
                                                     _link("self_service.verify", token))
    db.session.commit()
    deliver(services().mailer, db.session, user.tenant_id, message, language, background=True)
    return done(f"Mail sent to {user.email}.", "admin_ui.user_detail", user_id=str(user.id))


def _link(endpoint: str, token: str) -> str:
    from flask import url_for

    return services().config.issuer + url_for(endpoint, token=token)


@bp.get("/users/new")
@require("users:write")
def new_person():
    return page("admin/person_form.html", values={"onboarding": "invite"}, error=None)


@bp.post("/users")
@require("users:write")
def create_person():
    """Add a person with an invitation mail or a temporary password (shown once, PRG)."""
    from idp.accounts.account_mail import set_password_invite_mail
    from idp.accounts.onboarding import INVITATION_TTL, Onboarding, add_person

    caller = resolve_caller(check_csrf=False)
    form = request.form
    try:
        profile = admin_ops.clean_profile({k: form.get(k) for k in ("name", "department")
                                           if form.get(k)})
        user, secret = add_person(
            db.session, admin_context(), services().config,
            query_tenant(db.session, str(caller.tenant_id)), email=form.get("email", ""),
            username=form.get("username") or None, profile=profile,
            onboarding=form.get("onboarding", ""))
    except (ValidationFailed, Conflict) as exc:
        refused_input(exc)
        return page("admin/person_form.html", exc.status, values=form.to_dict(), error=exc)
    db.session.commit()
    if form.get("onboarding") == Onboarding.INVITE:
        with in_persons_language(user.locale) as language:
            message = set_password_invite_mail(user.email, _link("self_service.reset", secret),
                                               INVITATION_TTL // 86400)
        deliver(services().mailer, db.session, user.tenant_id, message, language,
                background=True)
        return done(f"{user.username} was added; an invitation went to {user.email}.",
                    "admin_ui.user_detail", user_id=str(user.id))
    keep_for_next_page("password", str(user.id), secret)
    return done(f"{user.username} was added with a temporary password.",
                "admin_ui.user_detail", user_id=str(user.id))
