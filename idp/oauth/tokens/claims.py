"""Which user claims a scope releases (OpenID Connect Core 1.0 section 5.4)."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from sqlalchemy.orm import object_session

from idp.models.accounts import User
from idp.rbac.roles import user_role_names

SCOPE_CLAIMS = {
    "profile": ["name", "family_name", "given_name", "middle_name", "nickname",
                "preferred_username", "profile", "picture", "website", "gender", "birthdate",
                "zoneinfo", "locale", "updated_at"],
    "email": ["email", "email_verified"],
    "address": ["address"],
    "phone": ["phone_number", "phone_number_verified"],
}
ROLES_SCOPE = "roles"  # asks for the `roles` claim: the person's role names in their tenant
SUPPORTED_SCOPES = ["openid", *SCOPE_CLAIMS, ROLES_SCOPE, "offline_access"]
SUPPORTED_CLAIMS = sorted({"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr",
                           "amr", "azp", "at_hash", "sid", "roles", "tenant"}
                          | {c for claims in SCOPE_CLAIMS.values() for c in claims})


def _claim_value(user: User, claim: str):
    if claim == "preferred_username":
        return user.username
    if claim == "updated_at":
        return int(user.updated_at.timestamp()) if user.updated_at else None
    if claim == "birthdate":
        return user.birthdate.isoformat() if user.birthdate else None
    return getattr(user, claim, None)


def _role_names(user: User) -> list[str]:
    return user_role_names(object_session(user), user)


def user_claims(user: User, scope: str) -> dict:
    """`sub` plus every claim the granted scopes release that has a value."""
    result: dict = {"sub": str(user.id)}
    if ROLES_SCOPE in (scope_to_list(scope) or []):
        result["roles"] = _role_names(user)
    for name in scope_to_list(scope) or []:
        for claim in SCOPE_CLAIMS.get(name, []):
            value = _claim_value(user, claim)
            if value is not None and value != "":
                result[claim] = value
    return result


def id_token_claims(user: User, scope: str) -> dict:
    """Scope claims in the ID token too, as most relying parties expect (Core 5.4 allows it)."""
    claims = user_claims(user, scope)
    claims.pop("sub")
    return claims


def token_identity_claims(user: User, scope: str) -> dict:
    """RFC 9068 2.2.3.1 identity claims for access tokens: tenant, and roles when asked for
    (scope `roles`, RFC 9068 2.2.3.1 `roles`); no personal data in tokens."""
    claims: dict = {"tenant": str(user.tenant_id)}
    if ROLES_SCOPE in (scope_to_list(scope) or []):
        claims["roles"] = _role_names(user)
    return claims
