"""Registering clients, rotating their secrets, revoking them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import NotFound, ValidationFailed
from idp.keyring import Keyring
from idp.models.oauth import Client
from idp.models.tenancy import Tenant
from idp.oauth import fapi
from idp.oauth.clients.redirect_uris import validate_redirect_uri
from idp.oauth.clients.secrets import generate_client_secret, new_secret_row
from idp.oauth.constants import (
    ADMIN_SCOPE,
    CLIENT_AUTH_METHODS,
    DEVICE_CODE_GRANT,
    GRANT_TYPES,
    OWN_API_SCOPES,
)
from idp.oauth.keys.signing import SUPPORTED_ALGS
from idp.oauth.tokens.claims import SUPPORTED_SCOPES
from idp.outbound import PUBLIC_ONLY, OutboundPolicy, OutboundRefused, check_registered_url
from idp.request_context import RequestContext

SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
MAX_NAME = 200  # the column sizes: longer input is refused, never a database error
MAX_URL = 500


@dataclass
class ClientSpec:
    name: str
    grant_types: list[str]
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    scopes: list[str]
    public: bool = False
    first_party: bool = False
    auth_method: str | None = None
    jwks: dict | None = None
    jwks_uri: str | None = None
    roles: list[str] | None = None
    audiences: list[str] | None = None
    token_alg: str = "RS256"
    expires_in: int | None = None  # seconds until the client stops working
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    require_pushed_authorization_requests: bool = False
    require_dpop_nonce: bool = False
    security_profile: str | None = None  # "fapi2": FAPI 2.0 Security Profile (oauth/fapi.py)
    # Token lifetimes in seconds (None: the deployment's) and PKCE for confidential clients.
    access_token_ttl: int | None = None
    refresh_token_ttl: int | None = None
    id_token_ttl: int | None = None
    require_pkce: bool = False


LIFETIMES = ("access_token_ttl", "refresh_token_ttl", "id_token_ttl")
MIN_TOKEN_TTL = 60


def check_lifetimes(spec: ClientSpec, limits) -> None:
    """Each lifetime a client sets is from a minute to the deployment's own (`limits`: the
    Config, IDP_ACCESS_TOKEN_TTL etc.): signing keys stay published for the longest of
    those, so no token may outlive its key."""
    for key in LIFETIMES:
        value, most = getattr(spec, key), getattr(limits, key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not MIN_TOKEN_TTL <= value <= most):
            raise ValidationFailed(f"{key} must be from {MIN_TOKEN_TTL} to {most} seconds "
                                   f"(the server's IDP_{key.upper()}), or empty for that.",
                                   field=key)


def _check_uri(uri: str, field: str) -> None:
    if len(uri) > MAX_URL:
        raise ValidationFailed(f"{field} has at most {MAX_URL} characters.", field=field)
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri or parts.scheme not in {"http", "https"} \
            or not parts.hostname or "@" in parts.netloc:
        raise ValidationFailed(f"{uri!r} is not an http(s) URL without fragment.", field=field)
    if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ValidationFailed(f"{uri!r}: plain http is allowed only on loopback.", field=field)


def _check_outbound_uri(uri: str, outbound: OutboundPolicy, field: str) -> None:
    """A URL the server will fetch or post to: http(s), and allowed by the outbound guard."""
    _check_uri(uri, field)
    try:
        check_registered_url(uri, outbound)
    except OutboundRefused:
        # The same words for every cause: registration must not become a network probe.
        raise ValidationFailed(f"{field} must be a public address (or one the operator "
                               "allows in IDP_OUTBOUND_ALLOW).", field=field) from None


def _validate(spec: ClientSpec, outbound: OutboundPolicy) -> str:
    if not spec.name.strip():
        raise ValidationFailed("A client needs a name.", field="name")
    if len(spec.name.strip()) > MAX_NAME:
        raise ValidationFailed(f"A client name has at most {MAX_NAME} characters.",
                               field="name")
    unknown = set(spec.grant_types) - GRANT_TYPES
    if unknown or not spec.grant_types:
        raise ValidationFailed(f"Grant types must be among {sorted(GRANT_TYPES)}.",
                               field="grant_types")
    if "authorization_code" in spec.grant_types and not spec.redirect_uris:
        raise ValidationFailed("authorization_code needs a redirect URI.", field="redirect_uris")
    for uri in spec.redirect_uris:
        validate_redirect_uri(uri, "redirect_uris")
    for uri in spec.post_logout_redirect_uris:
        validate_redirect_uri(uri, "post_logout_redirect_uris")
    method = spec.auth_method or ("none" if spec.public else
                                  "private_key_jwt" if (spec.jwks or spec.jwks_uri)
                                  else "client_secret_basic")
    if method not in CLIENT_AUTH_METHODS:
        raise ValidationFailed(f"Auth method must be one of {sorted(CLIENT_AUTH_METHODS)}.",
                               field="auth_method")
    if spec.public and (method != "none" or "client_credentials" in spec.grant_types):
        raise ValidationFailed("A public client uses auth method 'none' and no client "
                               "credentials grant.", field="auth_method")
    if method == "none" and not spec.public:
        raise ValidationFailed("Auth method 'none' is only for public clients.", field="auth_method")
    if method == "private_key_jwt" and not (spec.jwks or spec.jwks_uri):
        raise ValidationFailed("private_key_jwt needs --jwks-uri or a JWKS.", field="jwks_uri")
    if spec.jwks_uri:
        _check_outbound_uri(spec.jwks_uri, outbound, "jwks_uri")
    if spec.backchannel_logout_uri:
        # Back-Channel Logout 1.0 2.2: absolute http(s), no fragment.
        _check_outbound_uri(spec.backchannel_logout_uri, outbound, "backchannel_logout_uri")
    if spec.expires_in is not None and spec.expires_in <= 0:
        raise ValidationFailed("Expiry must be a positive number of seconds.", field="expires_in")
    if spec.token_alg not in SUPPORTED_ALGS:
        raise ValidationFailed(f"Token algorithm must be one of {SUPPORTED_ALGS}.", field="token_alg")
    fapi.check_registration(spec.security_profile, public=spec.public, auth_method=method,
                            token_alg=spec.token_alg, grant_types=spec.grant_types)
    return method


def _scopes(spec: ClientSpec) -> list[str]:
    # A person signs in for these grants: the OpenID scopes by default.
    user_grants = {"authorization_code", DEVICE_CODE_GRANT}
    default_scopes = SUPPORTED_SCOPES if user_grants & set(spec.grant_types) else []
    scopes = list(spec.scopes or default_scopes)
    if spec.roles and "client_credentials" in spec.grant_types and not (
            OWN_API_SCOPES & set(scopes)):
        # A client given an admin role calls the admin API with it, unless it asked for one
        # of our APIs by name (a provisioning client with `idp:scim` gets only that).
        scopes.append(ADMIN_SCOPE)
    return scopes


def create_client(
    db: Session, ctx: RequestContext, keyring: Keyring, tenant: Tenant, spec: ClientSpec,
    outbound: OutboundPolicy = PUBLIC_ONLY, limits=None,
) -> tuple[Client, str | None]:
    """Register a client; returns it and its secret (shown once; None for keyless clients).
    `limits` (the Config) bounds its token lifetimes; without it none may be set."""
    method = _validate(spec, outbound)
    _check_lifetimes_against(spec, limits)
    scopes = _scopes(spec)
    client = Client(
        id="idp_ci_" + secrets.token_urlsafe(16), tenant_id=tenant.id, name=spec.name.strip(),
        is_public=spec.public, first_party=spec.first_party, token_endpoint_auth_method=method,
        redirect_uris=list(spec.redirect_uris),
        post_logout_redirect_uris=list(spec.post_logout_redirect_uris),
        grant_types=list(spec.grant_types), scopes=scopes,
        audiences=list(spec.audiences or []), roles=list(spec.roles or []), jwks=spec.jwks,
        jwks_uri=spec.jwks_uri, id_token_signed_response_alg=spec.token_alg,
        access_token_alg=spec.token_alg, created_at=ctx.now,
        **_protocol_settings(spec),
        expires_at=ctx.now + timedelta(seconds=spec.expires_in) if spec.expires_in else None,
        **_own_settings(spec),
    )
    secret = None
    if method in SECRET_METHODS:
        secret = generate_client_secret()
        client.secrets.append(new_secret_row(keyring.client_secret_key, secret, ctx.now))
    db.add(client)
    db.flush()
    record(db, ctx, EventType.CLIENT_CREATED, client_id=client.id, tenant_id=tenant.id,
           details={"name": client.name, "grant_types": client.grant_types,
                    "auth_method": method})
    return client, secret


def update_client(
    db: Session, ctx: RequestContext, keyring: Keyring, client: Client, spec: ClientSpec,
    outbound: OutboundPolicy = PUBLIC_ONLY, limits=None,
) -> str | None:
    """Change a client's settings by the rules of registration; returns a new secret only
    when the change moves it to a secret-based auth method it had no secret for."""
    if spec.public != client.is_public:
        raise ValidationFailed("A client cannot switch between public and confidential; "
                               "register a new one.", field="public")
    method = _validate(spec, outbound)
    _check_lifetimes_against(spec, limits)
    settings = {**_settings(spec, method), **_own_settings(spec)}
    changed = sorted(k for k, v in settings.items() if getattr(client, k) != v)
    for key, value in settings.items():
        setattr(client, key, value)
    if spec.expires_in:
        client.expires_at = ctx.now + timedelta(seconds=spec.expires_in)
    secret = None
    if method in SECRET_METHODS and not any(
            s.expires_at is None or s.expires_at > ctx.now for s in client.secrets):
        secret = generate_client_secret()
        client.secrets.append(new_secret_row(keyring.client_secret_key, secret, ctx.now))
    db.flush()
    record(db, ctx, EventType.CLIENT_UPDATED, client_id=client.id, tenant_id=client.tenant_id,
           details={"changed": changed})
    return secret


def _settings(spec: ClientSpec, method: str) -> dict:
    return {"name": spec.name.strip(), "first_party": spec.first_party,
            "token_endpoint_auth_method": method, "redirect_uris": list(spec.redirect_uris),
            "post_logout_redirect_uris": list(spec.post_logout_redirect_uris),
            "grant_types": list(spec.grant_types), "scopes": _scopes(spec),
            "audiences": list(spec.audiences or []), "roles": list(spec.roles or []),
            "jwks_uri": spec.jwks_uri, "id_token_signed_response_alg": spec.token_alg,
            "access_token_alg": spec.token_alg, **_protocol_settings(spec)}


def _protocol_settings(spec: ClientSpec) -> dict:
    return {"backchannel_logout_uri": spec.backchannel_logout_uri or None,
            "backchannel_logout_session_required": spec.backchannel_logout_session_required,
            "require_pushed_authorization_requests": spec.require_pushed_authorization_requests,
            "require_dpop_nonce": spec.require_dpop_nonce,
            "security_profile": spec.security_profile or None}


def _own_settings(spec: ClientSpec) -> dict:
    return {"access_token_ttl": spec.access_token_ttl,
            "refresh_token_ttl": spec.refresh_token_ttl, "id_token_ttl": spec.id_token_ttl,
            "require_pkce": spec.require_pkce}


def _check_lifetimes_against(spec: ClientSpec, limits) -> None:
    if limits is not None:
        check_lifetimes(spec, limits)
    elif any(getattr(spec, key) is not None for key in LIFETIMES):
        raise ValidationFailed("Token lifetimes need the server's limits.", field=LIFETIMES[0])


def query_client_or_404(db: Session, client_id: str) -> Client:
    client = db.get(Client, client_id)
    if client is None:
        raise NotFound(f"No client {client_id!r}.")
    return client


def rotate_client_secret(
    db: Session, ctx: RequestContext, keyring: Keyring, client: Client, grace: int
) -> str:
    """A new secret; the old ones stay valid for `grace` seconds (at most)."""
    if client.token_endpoint_auth_method not in SECRET_METHODS:
        raise ValidationFailed("This client does not authenticate with a secret.")
    if grace < 0:
        raise ValidationFailed("Grace must be zero or more seconds.", field="grace")
    until = ctx.now + timedelta(seconds=grace)
    for row in client.secrets:
        if row.expires_at is None or row.expires_at > until:
            row.expires_at = until
    secret = generate_client_secret()
    client.secrets.append(new_secret_row(keyring.client_secret_key, secret, ctx.now))
    db.flush()
    record(db, ctx, EventType.CLIENT_SECRET_ROTATED, client_id=client.id,
           tenant_id=client.tenant_id, details={"grace_seconds": grace})
    return secret


def revoke_client(db: Session, ctx: RequestContext, client: Client) -> None:
    """No new tokens, and introspection reports the client's tokens inactive at once."""
    if client.revoked_at is None:
        client.revoked_at = ctx.now
        db.flush()
        record(db, ctx, EventType.CLIENT_REVOKED, client_id=client.id, tenant_id=client.tenant_id)


def delete_client(db: Session, ctx: RequestContext, client: Client) -> None:
    """Remove a client and everything issued to it; the audit trail keeps its id."""
    record(db, ctx, EventType.CLIENT_DELETED, client_id=client.id, tenant_id=client.tenant_id,
           details={"name": client.name})
    db.delete(client)
    db.flush()


def describe_client(client: Client, usage_days: list | None = None) -> dict:
    """A client as operators see it: settings, secrets (never their values) and usage."""
    return {
        "client_id": client.id, "name": client.name, "tenant_id": str(client.tenant_id),
        "public": client.is_public, "first_party": client.first_party,
        "auth_method": client.token_endpoint_auth_method, "grant_types": client.grant_types,
        "scopes": client.scopes, "audiences": client.audiences, "roles": client.roles,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "backchannel_logout_session_required": client.backchannel_logout_session_required,
        "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
        "require_dpop_nonce": client.require_dpop_nonce,
        "security_profile": client.security_profile,
        "require_pkce": client.is_public or client.require_pkce,
        "access_token_ttl": client.access_token_ttl,
        "refresh_token_ttl": client.refresh_token_ttl, "id_token_ttl": client.id_token_ttl,
        "created_at": _iso(client.created_at), "expires_at": _iso(client.expires_at),
        "revoked_at": _iso(client.revoked_at), "last_used_at": _iso(client.last_used_at),
        "last_used_ip": client.last_used_ip,
        "secrets": [{"id": str(s.id), "hint": "…" + s.hint, "created_at": _iso(s.created_at),
                     "last_used_at": _iso(s.last_used_at), "expires_at": _iso(s.expires_at)}
                    for s in sorted(client.secrets, key=lambda s: s.created_at)],
        "usage": [{"day": d.day.isoformat(), "tokens": d.token_count} for d in usage_days or []],
    }


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
