"""The OpenAPI 3.1 document of the admin API, served at /api/openapi.json.

Every operation is listed in OPERATIONS; tests/integration/test_admin_openapi.py fails
when the routes registered under /api/v1 and this table disagree.
"""

from __future__ import annotations

from flask import Blueprint

from idp.accounts.bulk import IMPORT_COLUMNS
from idp.admin.operations import MAX_EXPIRY, MAX_GRACE
from idp.oauth.clients.initial_access_tokens import MAX_TTL, MAX_USES, POLICY_GRANT_TYPES
from idp.oauth.clients.scim_tokens import MAX_DAYS as SCIM_TOKEN_MAX_DAYS
from idp.oauth.constants import CLIENT_AUTH_METHODS, GRANT_TYPES, SIGNING_ALGS
from idp.rbac.roles import PERMISSIONS

bp = Blueprint("admin_openapi", __name__)

S, N, B, INT = {"type": "string"}, {"type": ["string", "null"]}, {"type": "boolean"}, {"type": "integer"}
OBJ = {"type": "object"}
# accounts.normalization.validate_username: 1-150 printable characters (after NFKC), no
# '@', no spaces; the class leaves out the BMP's control, format and private-use ranges.
USERNAME = {"type": "string", "minLength": 1, "maxLength": 150, "format": "username",
            "pattern": "^[^@\\s\\x00-\\x1f\\x7f-\\x9f\\xad\\u0600-\\u0605\\u200b-\\u200f"
                       "\\u2028-\\u202f\\u2060-\\u206f\\ue000-\\uf8ff\\ufeff\\ufff0-\\ufffb\\ufffe\\uffff]"
                       "{1,150}$"}
# accounts.groups.check_group_name: 1-100 printable characters, the only space U+0020, not
# at either end (BMP ranges, as for USERNAME).
_INVISIBLE = ("\\x00-\\x1f\\x7f-\\xa0\\xad\\u0600-\\u0605\\u1680\\u2000-\\u200f\\u2028-\\u202f"
              "\\u205f-\\u206f\\u3000\\ue000-\\uf8ff\\ufeff\\ufff0-\\ufffb\\ufffe\\uffff")
GROUP_NAME = {"type": "string", "minLength": 1, "maxLength": 100, "format": "group-name",
              "pattern": f"^[^ {_INVISIBLE}]([^{_INVISIBLE}]*[^ {_INVISIBLE}])?$"}
# Role names (idp.rbac.groups.ROLE_NAME).
NAME = {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"}
# Query strings never carry a NUL (refused with 400 before any route).
QUERY_TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}
# A header line starting with the email column (others from the known ones), then rows.
CSV_PATTERN = (rf"^email(,({'|'.join(c for c in IMPORT_COLUMNS if c != 'email')}))*\r?\n"
               r"[^\x00\r]*[A-Za-z0-9@][^\x00\r]*$")


def _tenant_settings_schema() -> dict:
    """The keys accounts.tenant_settings.SCHEMA accepts (no others)."""
    from idp.accounts.registration import MODES
    from idp.tenancy.settings import (
        MAX_SECONDS,
        MAX_SESSIONS,
        SCIM_DEPROVISIONING,
        SESSION_KEYS,
    )

    nullable_int = {"type": ["integer", "null"]}
    session = {k: {**nullable_int, "minimum": 1,
                   "maximum": MAX_SESSIONS if k == "max_per_user" else MAX_SECONDS}
               for k in SESSION_KEYS}
    switch = {"type": "boolean"}
    policy = {"preset": {"type": "string", "enum": ["default", "nist"]},
              **{k: {"type": "integer", "minimum": 0, "maximum": 64}
                 for k in ("min_length", "min_length_mfa", "history")},
              "max_length": {"type": "integer", "minimum": 64},
              **{k: switch for k in ("require_upper", "require_lower", "require_digit",
                                     "require_special", "blocklist")}}
    return {"type": "object", "additionalProperties": False, "properties": {
        "registration": {"type": ["string", "null"], "enum": [*MODES, None]},
        "mfa_required": {"type": ["boolean", "null"]},
        "mfa_required_roles": {"type": ["array", "null"], "maxItems": 100, "items": {
            "type": "string", "minLength": 1, "maxLength": 64}},
        "session": {"type": ["object", "null"], "additionalProperties": False,
                    "properties": session},
        "password_policy": {"type": ["object", "null"], "additionalProperties": False,
                            "properties": policy},
        "scim_deprovisioning": {"type": ["string", "null"],
                                "enum": [*SCIM_DEPROVISIONING, None]}}}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(name: str) -> dict:
    return {"type": "object", "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": ref(name)},
                           "next_cursor": N}}


def _profile_schema() -> dict:
    """What accounts.profile accepts, field by field (null or "" clears a field)."""
    from idp.accounts.profile import _LOCALE, _PHONE, ADDRESS_KEYS, PROFILE_FIELDS, URL_FIELDS, _zones

    out: dict = {}
    for key, limit in PROFILE_FIELDS.items():
        if limit is None:
            continue
        pattern = r"^[^\x00-\x1f\x7f]*$"
        if key in URL_FIELDS:
            pattern = r"^(|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s\x00-\x1f\x7f]*)?)$"
        elif key in ("locale", "phone_number"):
            pattern = "^(|" + (_LOCALE if key == "locale" else _PHONE).pattern[1:-1] + ")$"
        out[key] = {"type": ["string", "null"], "maxLength": limit, "pattern": pattern}
    out["zoneinfo"] = {"type": ["string", "null"], "enum": [*sorted(_zones()), "", None]}
    out["birthdate"] = {"type": ["string", "null"], "format": "date"}
    out["address"] = {"type": ["object", "null"], "additionalProperties": False,
                      "properties": {k: {**S, "maxLength": 500} for k in sorted(ADDRESS_KEYS)}}
    out["phone_number_verified"] = {"type": ["boolean", "null"]}
    return out


PROFILE = _profile_schema()
PROFILE_OUT = {k: N for k, v in PROFILE.items() if v.get("type") == ["string", "null"]}
SCHEMAS = {
    "Error": {"type": "object", "required": ["error", "message"],
              "properties": {"error": S, "message": S, "field": S}},
    "User": {"type": "object",
             "required": ["id", "tenant", "username", "email", "status", "roles", "groups"],
             "properties": {"id": S, "tenant": S, "username": S, "email": N,
                            "email_verified": B, "locked": B, "mfa_enabled": B,
                            "password_expired": B,
                            "status": {"enum": ["active", "disabled", "locked", "erased"]},
                            "roles": {"type": "array", "items": S},
                            "groups": {"type": "array", "items": S},
                            "created_at": N, "updated_at": N, "last_login_at": N,
                            "erased_at": N, "phone_number_verified": B,
                            **PROFILE_OUT, "address": {"type": ["object", "null"]}}},
    "UserWrite": {"type": "object", "additionalProperties": False,
                  "properties": {"username": USERNAME, "email": S, "email_verified": B,
                                 "phone_number_verified": B,
                                 "address": {"type": ["object", "null"],
                                             "additionalProperties": S}, **PROFILE}},
    "UserCreate": {"type": "object", "additionalProperties": False, "required": ["email"],
                   "properties": {"email": {**S, "format": "email"}, "username": USERNAME,
                                  "password": {**S, "format": "password", "description":
                                               "Must meet the tenant's password policy "
                                               "(its settings.password_policy)."},
                                  "tenant": S,
                                  "email_verified": B, **PROFILE}},
    "Session": {"type": "object", "required": ["id"], "properties": {
        "id": S, "created_at": N, "last_seen_at": N, "expires_at": N, "ip": N,
        "user_agent": N, "amr": {"type": "array"}, "revoked_at": N}},
    "AuditEvent": {"type": "object",
                   "required": ["id", "at", "type", "outcome", "actor", "subject", "tenant",
                                "ip", "user_agent", "details", "username"],
                   "properties": {"id": INT, "at": {"type": "string", "format": "date-time"},
                                  "type": S, "outcome": S, "actor": N, "subject": N,
                                  "tenant": N, "client_id": N, "ip": N, "user_agent": N,
                                  "request_id": N, "details": OBJ, "username": N,
                                  "hash": S, "prev_hash": S}},
    "Role": {"type": "object", "required": ["id", "name", "permissions", "builtin"],
             "properties": {"id": S, "name": S, "description": S, "builtin": B, "tenant": N,
                            "permissions": {"type": "array", "items": S}}},
    "RoleWrite": {"type": "object", "properties": {
        "name": S, "description": S, "tenant": S,
        "permissions": {"type": "array", "items": {"enum": PERMISSIONS}}}},
    "Group": {"type": "object", "required": ["id", "name", "roles", "members"],
              "properties": {"id": S, "tenant": S, "name": S, "description": S,
                             "roles": {"type": "array", "items": S},
                             "members": {"type": "array", "items": S}, "created_at": N}},
    "Tenant": {"type": "object", "required": ["id", "slug", "name"],
               "properties": {"id": S, "slug": S, "name": S, "settings": OBJ,
                              "created_at": N}},
    "Client": {"type": "object", "required": ["client_id", "name"],
               "properties": {"client_id": S, "name": S, "tenant_id": S,
                              "client_secret": N, "last_used_at": N, "last_used_ip": N,
                              "usage": {"type": "array"}, "secrets": {"type": "array"}}},
    "ClientWrite": {"type": "object", "additionalProperties": False, "properties": {
        "name": S, "grant_types": {"type": "array", "items": {
            "type": "string", "enum": sorted(GRANT_TYPES)}},
        "redirect_uris": {"type": "array", "items": {**S, "maxLength": 2000}},
        "post_logout_redirect_uris": {"type": "array", "items": {**S, "maxLength": 2000}},
        "scopes": {"type": "array", "items": S}, "audiences": {"type": "array", "items": S},
        "roles": {"type": "array", "items": S}, "public": B, "first_party": B,
        "auth_method": {"type": "string", "enum": list(CLIENT_AUTH_METHODS)},
        "jwks_uri": S, "tenant": S,
        "backchannel_logout_uri": S, "backchannel_logout_session_required": B,
        "require_pushed_authorization_requests": B, "require_dpop_nonce": B,
        "security_profile": {"type": "string", "enum": ["fapi2", ""],
                             "description": "fapi2: the FAPI 2.0 Security Profile applies "
                                            "(private_key_jwt, ES256, PAR, PKCE, DPoP); "
                                            "empty: none."},
        "require_pkce": {**B, "description": "PKCE for a confidential client too (public "
                                             "clients always need it)."},
        **{key: {"type": ["integer", "null"], "minimum": 60, "description":
                 f"Seconds; at most the server's IDP_{key.upper()}; null: that value."}
           for key in ("access_token_ttl", "refresh_token_ttl", "id_token_ttl")},
        "token_alg": {"type": "string", "enum": list(SIGNING_ALGS)},
        "expires_in": {"type": "integer", "minimum": 1, "maximum": MAX_EXPIRY,
                       "description": "Seconds until the client stops working."}}},
    "Export": {"type": "object", "required": ["profile", "roles", "audit_events"]},
}
SCHEMAS["ClientCreate"] = {**SCHEMAS["ClientWrite"], "required": ["name"]}
SCHEMAS["ClientCreate"]["properties"] = {**SCHEMAS["ClientWrite"]["properties"],
                                         "name": {**S, "minLength": 1, "pattern": "\\S"}}
SCHEMAS["RoleCreate"] = {"type": "object", "required": ["name"], "properties": {
    **SCHEMAS["RoleWrite"]["properties"], "name": NAME}}
for _name in ("User", "AuditEvent", "Role", "Group", "Tenant", "Client", "Session"):
    SCHEMAS[f"{_name}Page"] = page_of(_name)
SCHEMAS["StringPage"] = {"type": "object", "required": ["items", "next_cursor"],
                         "properties": {"items": {"type": "array", "items": S},
                                        "next_cursor": N}}

LIST_PARAMS = ["cursor", "limit"]
USER_FILTERS = ["q", "status", "role", "group", "last_login_before", "last_login_after",
                "tenant", *LIST_PARAMS]
AUDIT_FILTERS = ["user", "actor", "type", "outcome", "ip", "since", "until", "tenant"]
PARAM_SCHEMAS = {"limit": {"type": "integer", "minimum": 1, "maximum": 200},
                 "cursor": {"type": "string", "format": "idp-cursor",
                            "pattern": "^[A-Za-z0-9_.-]*$",
                            "description": "Opaque and signed: the next_cursor of the page "
                                           "before, for the same list (400 otherwise)."},
                 "status": {"enum": ["active", "disabled", "locked", "erased"]},
                 "user": {"type": "string", "format": "uuid"},
                 "format": {"enum": ["json", "csv"]},
                 "since": {"type": "string", "format": "date-time"},
                 "until": {"type": "string", "format": "date-time"},
                 "last_login_before": {"type": "string", "format": "date-time"},
                 "last_login_after": {"type": "string", "format": "date-time"}}

# (path, method): (summary, permission, request schema, success status, response schema, query)
OPERATIONS = {
    ("/users", "get"): ("List people", "users:read", None, 200, "UserPage", USER_FILTERS),
    ("/users", "post"): ("Create a person", "users:write", "UserCreate", 201, "User", []),
    ("/users/{user_id}", "get"): ("Show a person", "users:read", None, 200, "User", []),
    ("/users/{user_id}", "put"): ("Replace a profile", "users:write", "UserWrite", 200, "User", []),
    ("/users/{user_id}", "patch"): ("Edit a profile", "users:write", "UserWrite", 200, "User", []),
    ("/users/{user_id}", "delete"): ("Delete a person", "users:write", None, 204, None, []),
    ("/users/{user_id}/disable", "post"): ("Disable", "users:disable", None, 200, "User", []),
    ("/users/{user_id}/enable", "post"): ("Enable", "users:disable", None, 200, "User", []),
    ("/users/{user_id}/unlock", "post"): ("Unlock", "users:unlock", None, 200, "User", []),
    ("/users/{user_id}/require-password-change", "post"): (
        "Require a new password at the next sign-in", "users:write", None, 200, "User", []),
    ("/users/{user_id}/erase", "post"): ("GDPR erasure (irreversible)", "users:erase",
                                         "Confirm", 200, "User", []),
    ("/users/{user_id}/export", "get"): ("GDPR export", "users:export", None, 200, "Export", []),
    ("/users/{user_id}/sessions", "get"): ("Live sessions", "users:read", None, 200,
                                           "SessionPage", []),
    ("/users/{user_id}/sessions", "delete"): ("Revoke every session", "sessions:revoke", None,
                                              200, "Revoked", []),
    ("/users/{user_id}/sessions/{session_id}", "delete"): ("Revoke a session",
                                                           "sessions:revoke", None, 204, None, []),
    ("/users/{user_id}/roles", "get"): ("Roles held", "users:read", None, 200, "StringPage", []),
    ("/users/{user_id}/roles", "post"): ("Assign a role", "roles:write", "RoleRef", 200,
                                         "User", []),
    ("/users/{user_id}/roles/{role_name}", "delete"): ("Take a role away", "roles:write", None,
                                                       204, None, []),
    ("/users/{user_id}/mfa/reset", "post"): ("Reset MFA", "mfa:reset", "Reason", 200,
                                             "Removed", []),
    ("/audit", "get"): ("Audit events, newest first", "audit:read", None, 200, "AuditEventPage",
                        [*AUDIT_FILTERS, *LIST_PARAMS]),
    ("/audit/export", "get"): ("Audit export (CSV or JSON)", "audit:read", None, 200, "AuditExport",
                               [*AUDIT_FILTERS, "format"]),
    ("/roles", "get"): ("Roles", "users:read", None, 200, "RolePage", []),
    ("/roles", "post"): ("Create a custom role", "roles:write", "RoleCreate", 201, "Role", []),
    ("/roles/{role_id}", "get"): ("Show a role", "users:read", None, 200, "Role", []),
    ("/roles/{role_id}", "patch"): ("Edit a custom role", "roles:write", "RoleWrite", 200, "Role", []),
    ("/roles/{role_id}", "delete"): ("Delete a custom role", "roles:write", None, 204, None, []),
    ("/groups", "get"): ("Groups", "users:read", None, 200, "GroupPage", []),
    ("/groups", "post"): ("Create a group", "roles:write", "GroupWrite", 201, "Group", []),
    ("/groups/{group_id}", "get"): ("Show a group", "users:read", None, 200, "Group", []),
    ("/groups/{group_id}", "delete"): ("Delete a group", "roles:write", None, 204, None, []),
    ("/groups/{group_id}/members", "post"): ("Add a member", "roles:write", "UserRef", 200,
                                             "Group", []),
    ("/groups/{group_id}/members/{user_id}", "delete"): ("Remove a member", "roles:write", None,
                                                         204, None, []),
    ("/groups/{group_id}/roles", "post"): ("Give the group a role", "roles:write", "RoleRef", 200,
                                           "Group", []),
    ("/groups/{group_id}/roles/{role_name}", "delete"): ("Take a role from the group",
                                                         "roles:write", None, 204, None, []),
    ("/tenants", "get"): ("Tenants", "users:read", None, 200, "TenantPage", []),
    ("/tenants", "post"): ("Create a tenant", "tenants:write", "TenantCreate", 201, "Tenant",
                           []),
    ("/tenants/{tenant_id}", "get"): ("Show a tenant", "users:read", None, 200, "Tenant", []),
    ("/tenants/{tenant_id}", "patch"): ("Edit a tenant", "tenants:write", "TenantWrite", 200,
                                        "Tenant", []),
    ("/clients", "get"): ("Clients", "clients:write or audit:read", None, 200, "ClientPage", []),
    ("/clients", "post"): ("Register a client", "clients:write", "ClientCreate", 201, "Client",
                           []),
    ("/clients/{client_id}", "get"): ("Show a client with usage", "clients:write or audit:read",
                                      None, 200, "Client", []),
    ("/clients/{client_id}", "patch"): ("Edit a client (fields left out keep their value)",
                                        "clients:write", "ClientWrite", 200, "Client", []),
    ("/clients/{client_id}", "delete"): ("Delete a client", "clients:write", None, 204, None, []),
    ("/clients/{client_id}/rotate", "post"): ("Rotate the secret", "clients:write", "Grace", 200,
                                              "Secret", []),
    ("/clients/{client_id}/revoke", "post"): ("Revoke the client", "clients:write", None, 200,
                                              "Client", []),
    ("/initial-access-tokens", "get"): ("Initial access tokens for dynamic client "
                                        "registration", "clients:write", None, 200,
                                        "InitialAccessTokenPage", []),
    ("/initial-access-tokens", "post"): ("Issue an initial access token (shown once)",
                                         "clients:write", "InitialAccessTokenWrite", 201,
                                         "InitialAccessToken", []),
    ("/initial-access-tokens/{token_id}", "get"): ("Show an initial access token",
                                                   "clients:write", None, 200,
                                                   "InitialAccessToken", []),
    ("/initial-access-tokens/{token_id}/revoke", "post"): (
        "Revoke an initial access token", "clients:write", None, 200, "InitialAccessToken", []),
    ("/clients/{client_id}/scim-tokens", "get"): ("The client's SCIM tokens (never their "
                                                  "values)", "clients:write or audit:read",
                                                  None, 200, "ScimTokenPage", []),
    ("/clients/{client_id}/scim-tokens", "post"): ("Issue a long-lived SCIM token (shown once)",
                                                   "clients:write", "ScimTokenWrite", 201,
                                                   "ScimToken", []),
    ("/clients/{client_id}/scim-tokens/{token_id}", "delete"): ("Revoke a SCIM token",
                                                                "clients:write", None, 204,
                                                                None, []),
    ("/webhooks", "get"): ("Webhook subscriptions", "clients:write", None, 200, "WebhookPage", []),
    ("/webhooks", "post"): ("Subscribe a URL (secret shown once)", "clients:write",
                            "WebhookWrite", 201, "Webhook", []),
    ("/webhooks/{webhook_id}", "get"): ("Show a subscription", "clients:write", None, 200,
                                        "Webhook", []),
    ("/webhooks/{webhook_id}", "delete"): ("Delete a subscription", "clients:write", None, 204,
                                           None, []),
    ("/webhooks/{webhook_id}/secret", "post"): ("Rotate the secret (old one signs during the "
                                                "overlap)", "clients:write", "Overlap", 200,
                                               "WebhookSecret", []),
    ("/webhooks/{webhook_id}/enable", "post"): ("Enable a disabled subscription", "clients:write",
                                                None, 200, "Webhook", []),
    ("/webhooks/{webhook_id}/test", "post"): ("Send a webhook.test event now", "clients:write",
                                              None, 200, "Delivery", []),
    ("/webhooks/{webhook_id}/deliveries", "get"): ("Delivery log, newest first", "clients:write",
                                                   None, 200, "DeliveryPage", []),
    ("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", "post"): (
        "Deliver again (same webhook-id)", "clients:write", None, 202, "Delivery", []),
    ("/providers", "get"): ("Upstream identity providers", "clients:write or audit:read", None,
                            200, "ProviderPage", []),
    ("/providers", "post"): ("Register an upstream provider", "clients:write", "ProviderWrite",
                             201, "Provider", []),
    ("/providers/{ref}", "get"): ("Show a provider (id or slug)", "clients:write or audit:read",
                                  None, 200, "Provider", []),
    ("/providers/{ref}", "patch"): ("Edit a provider (fields left out keep their value; "
                                    "a SAML metadata_url is read again)", "clients:write",
                                    "ProviderPatch", 200, "Provider", []),
    ("/providers/{ref}", "delete"): ("Delete a provider and its linked identities",
                                     "clients:write", None, 204, None, []),
    ("/import-jobs", "post"): ("Start a CSV import (or dry run) in the background",
                               "users:write", "ImportWrite", 202, "ImportJob", []),
    ("/import-jobs/{job_id}", "get"): ("An import's progress and counts", "users:write", None,
                                       200, "ImportJob", []),
    ("/import-jobs/{job_id}/errors", "get"): ("The rows not imported, as CSV", "users:write",
                                              None, 200, None, []),
    ("/import-jobs/{job_id}/commit", "post"): ("Import a finished dry run's file for real",
                                               "users:write", None, 202, "ImportJob", []),
    ("/import-jobs/{job_id}/restart", "post"): ("Run a failed import again from its last "
                                                "committed row", "users:write", None, 202,
                                                "ImportJob", []),
    ("/users/{user_id}/identities", "get"): ("The person's linked sign-ins", "users:read", None,
                                             200, "IdentityPage", []),
}
# client_id for oidc and github; metadata_url or metadata_xml (the IdP's) for saml.
_PROVIDER_FIELDS = {
    "name": S, "type": {"enum": ["oidc", "github", "saml"]}, "issuer": S, "client_id": S,
    "client_secret": S, "scopes": {"type": "array", "items": S},
    "domains": {"type": "array", "items": S}, "roles": {"type": "array", "items": S},
    "groups": {"type": "array", "items": S}, "link_by_verified_email": B,
    "existing_accounts_only": B, "metadata_url": S, "metadata_xml": S,
    "allow_idp_initiated": B, "end_session": B}
SCHEMAS.update({
    "Confirm": {"type": "object", "required": ["confirm"], "properties": {"confirm": S}},
    "Reason": {"type": "object", "required": ["reason"], "properties": {"reason": S}},
    "RoleRef": {"type": "object", "required": ["role"], "properties": {"role": S}},
    "UserRef": {"type": "object", "required": ["user_id"], "properties": {"user_id": S}},
    "GroupWrite": {"type": "object", "required": ["name"],
                   "properties": {"name": GROUP_NAME, "description": S}},
    "TenantWrite": {"type": "object", "properties": {
        "slug": {**S, "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
        "name": {**S, "minLength": 1, "maxLength": 200, "pattern": "\\S"},
        "settings": ref("TenantSettings")}},
    "TenantSettings": _tenant_settings_schema(),
    "TenantCreate": {"type": "object", "required": ["slug", "name"], "properties": {
        "slug": {**S, "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
        "name": {**S, "minLength": 1, "maxLength": 200, "pattern": "\\S"},
        "settings": ref("TenantSettings")}},
    "Grace": {"type": "object", "properties": {"grace": {**INT, "minimum": 0,
                                                         "maximum": MAX_GRACE}}},
    "Revoked": {"type": "object", "required": ["revoked"], "properties": {"revoked": INT}},
    "Removed": {"type": "object", "required": ["removed"], "properties": {"removed": OBJ}},
    "Provider": {"type": "object", "required": ["id", "slug", "name", "type", "redirect_uri"],
                 "properties": {"id": S, "slug": S, "name": S, "type": S, "tenant_id": S,
                                "issuer": N, "client_id": N, "has_client_secret": B,
                                "scopes": {"type": "array", "items": S},
                                "domains": {"type": "array", "items": S},
                                "roles": {"type": "array", "items": S},
                                "groups": {"type": "array", "items": S},
                                "link_by_verified_email": B, "existing_accounts_only": B,
                                "end_session": B, "allow_idp_initiated": B,
                                "metadata_url": S, "upstream_metadata_url": N,
                                "changed": {"type": "array", "items": S},
                                "redirect_uri": S, "created_at": S}},
    "ProviderWrite": {"type": "object", "required": ["name"],
                      "additionalProperties": False, "properties": {
                          **_PROVIDER_FIELDS, "tenant": S}},
    "ProviderPatch": {"type": "object", "additionalProperties": False,
                      "properties": _PROVIDER_FIELDS},
    "Identity": {"type": "object", "required": ["id", "provider", "subject"],
                 "properties": {"id": S, "provider": S, "provider_name": S, "subject": S,
                                "email": N, "created_at": S, "last_login_at": N}},
    "ProviderPage": page_of("Provider"),
    "IdentityPage": page_of("Identity"),
    "Secret": {"type": "object", "required": ["client_id", "client_secret"],
               "properties": {"client_id": S, "client_secret": S}},
    "Webhook": {"type": "object", "required": ["id", "tenant", "url", "event_types", "enabled"],
                "properties": {"id": S, "tenant": S, "url": S, "enabled": B, "created_at": S,
                               "event_types": {"type": "array", "items": S}, "created_by": N,
                               "failing_since": N, "disabled_reason": N, "secret": S}},
    "WebhookWrite": {"type": "object", "required": ["url"], "properties": {
        "url": S, "tenant": N, "event_types": {"type": ["array", "null"], "items": S}}},
    "WebhookPage": page_of("Webhook"),
    "InitialAccessToken": {
        "type": "object", "required": ["id", "tenant", "uses", "expires_at"],
        "properties": {"id": S, "tenant": S, "hint": S, "uses": INT,
                       "max_uses": {"type": ["integer", "null"]},
                       "grant_types": {"type": "array", "items": S},
                       "redirect_uri_prefixes": {"type": "array", "items": S},
                       "scopes": {"type": "array", "items": S}, "created_by": N,
                       "created_at": S, "expires_at": S, "revoked_at": N,
                       "initial_access_token": S}},
    "InitialAccessTokenWrite": {"type": "object", "additionalProperties": False, "properties": {
        "tenant": S, "uses": {**INT, "minimum": 0, "maximum": MAX_USES},
        "expires_in": {**INT, "minimum": 60, "maximum": MAX_TTL},
        "grant_types": {"type": "array", "items": {
            "type": "string", "enum": sorted(POLICY_GRANT_TYPES)}},
        "redirect_uri_prefixes": {"type": "array", "items": {**S, "maxLength": 2000}},
        "scopes": {"type": "array", "items": S}}},
    "InitialAccessTokenPage": page_of("InitialAccessToken"),
    "ScimToken": {"type": "object", "required": ["id", "client_id", "expires_at"],
                  "properties": {"id": S, "client_id": S, "hint": S, "created_at": S,
                                 "expires_at": S, "revoked_at": N, "last_used_at": N,
                                 "scim_token": S}},
    "ScimTokenWrite": {"type": "object", "properties": {"days": {
        **INT, "minimum": 1, "maximum": SCIM_TOKEN_MAX_DAYS}}},
    "ScimTokenPage": page_of("ScimToken"),
    "Overlap": {"type": "object", "properties": {"overlap": INT}},
    "WebhookSecret": {"type": "object", "required": ["id", "secret"],
                      "properties": {"id": S, "secret": S}},
    "Delivery": {"type": "object", "required": ["id", "event_id", "type", "status", "attempts"],
                 "properties": {"id": INT, "event_id": S, "type": S, "attempts": INT,
                                "status": {"enum": ["pending", "delivered", "dead"]},
                                "last_status": {"type": ["integer", "null"]},
                                "latency_ms": {"type": ["integer", "null"]},
                                "last_error": N, "created_at": N, "last_attempt_at": N,
                                "next_attempt_at": N}},
    "DeliveryPage": page_of("Delivery"),
    "ImportWrite": {"type": "object", "required": ["csv"], "additionalProperties": False,
                    "properties": {"csv": {
                        "type": "string", "pattern": CSV_PATTERN,
                        "description": "A header line naming the columns (at least email), "
                                       "then one person per line."}, "dry_run": B}},
    "ImportJob": {"type": "object", "required": ["id", "status", "dry_run", "total",
                                                 "processed", "counts", "error_count"],
                  "properties": {"id": S, "status": {"enum": ["pending", "running", "done",
                                                              "failed"]},
                                 "dry_run": B, "total": INT, "processed": INT,
                                 "counts": {"type": "object", "additionalProperties": INT},
                                 "error_count": INT, "message": N, "created_by": S,
                                 "created_at": S, "finished_at": N, "heartbeat_at": N,
                                 "takeovers": INT}},
    "AuditExport": {"type": "object", "required": ["items"],
                    "properties": {"items": {"type": "array", "items": ref("AuditEvent")}}},
})
ERRORS = {400: "Malformed request", 401: "No or bad credentials",
          403: "Missing permission or CSRF token", 404: "Not found (or in another tenant)",
          409: "Conflicts with the current state", 422: "Invalid values",
          429: "Too many requests"}


def _operation(path: str, method: str, spec: tuple) -> dict:
    summary, permission, request_schema, status, response_schema, query = spec
    params = [{"name": p.strip("{}"), "in": "path", "required": True, "schema": S}
              for p in path.split("/") if p.startswith("{")]
    params += [{"name": q, "in": "query", "required": False,
                "schema": PARAM_SCHEMAS.get(q, QUERY_TEXT)} for q in query]
    responses = {str(code): {"description": text, "content": {
        "application/json": {"schema": ref("Error")}}} for code, text in ERRORS.items()}
    success: dict = {"description": "OK" if status != 204 else "Done; no content"}
    if response_schema:
        success["content"] = {"application/json": {"schema": ref(response_schema)}}
    if path == "/audit/export":
        success["content"]["text/csv"] = {"schema": S}
    if path.endswith("/errors"):
        success["content"] = {"text/csv": {"schema": S}}
    if (path, method) in {("/users/{user_id}/roles", "post")}:
        responses["201"] = success
    responses[str(status)] = success
    op = {"operationId": f"{method}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
          "summary": summary, "description": f"Permission: `{permission}`.",
          "parameters": params, "responses": responses}
    if request_schema:
        optional = {"Grace", "Overlap", "ScimTokenWrite"}
        op["requestBody"] = {"required": request_schema not in optional, "content": {
            "application/json": {"schema": ref(request_schema)}}}
    return op


def _with_limits(schemas: dict, limits) -> dict:
    """Client token lifetimes are bounded by this deployment's IDP_*_TOKEN_TTL."""
    if limits is None:
        return schemas
    out = dict(schemas)
    for name in ("ClientWrite", "ClientCreate"):
        props = dict(out[name]["properties"])
        for key in ("access_token_ttl", "refresh_token_ttl", "id_token_ttl"):
            props[key] = {**props[key], "maximum": getattr(limits, key)}
        out[name] = {**out[name], "properties": props}
    return out


def build_document(session_cookie: str = "idp_session", limits=None) -> dict:
    """The OpenAPI 3.1 document (`limits`: the Config whose token lifetimes bound clients')."""
    paths: dict = {}
    for (path, method), spec in OPERATIONS.items():
        paths.setdefault("/api/v1" + path, {})[method] = _operation(path, method, spec)
    return {
        "openapi": "3.1.0",
        "info": {"title": "idp admin API", "version": "1.0.0",
                 "description": "Manage people, roles, groups, tenants, clients and the audit "
                                "log. Lists answer {items, next_cursor}; errors {error, message}. "
                                "No string may contain NUL (U+0000): such a request is "
                                "refused with 400, as is JSON nested deeper than 32 levels."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {"schemas": _with_limits(SCHEMAS, limits), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                       "description": "Client-credentials token with scope idp:admin."},
            "session": {"type": "apiKey", "in": "cookie", "name": session_cookie,
                        "description": "An admin's browser session; unsafe methods also "
                                       "need the X-CSRFToken header."}}},
    }


@bp.get("/api/openapi.json")
def openapi_json():
    from idp.http import SESSION_COOKIE, cookie_name, settings

    config = settings()
    return build_document(cookie_name(SESSION_COOKIE, config.issuer_is_https), config)
