"""Upstream identity providers: register, list, delete; client secrets encrypted at rest."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts.access import named_roles
from idp.audit import EventType, record
from idp.errors import NotFound, ValidationFailed
from idp.keyring import Keyring
from idp.models.federation import IdentityProvider
from idp.models.groups import Group
from idp.models.tenancy import Tenant
from idp.outbound import PUBLIC_ONLY, OutboundPolicy, OutboundRefused, check_registered_url
from idp.request_context import RequestContext

TYPES = ("oidc", "github")  # saml is named by the contract but not built yet
DEFAULT_SCOPES = {"oidc": ["openid", "email", "profile"], "github": ["read:user", "user:email"]}
GITHUB = "https://github.com"  # or a GitHub Enterprise Server given as --issuer
# Issuers that need no tenant-specific part (Entra ID and Okta do: see docs/federation.md).
PRESET_ISSUERS = {"google": "https://accounts.google.com", "gitlab": "https://gitlab.com"}
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")  # RFC 6749 3.3 scope-token


@dataclass
class ProviderSpec:
    name: str
    type: str = "oidc"
    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scopes: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    link_by_verified_email: bool = False
    existing_accounts_only: bool = False


def secret_context(provider_id: uuid.UUID) -> str:
    """AES-GCM associated data: a secret cannot be moved to another provider's row."""
    return f"provider-secret:{provider_id}"


def client_secret(keyring: Keyring, provider: IdentityProvider) -> str | None:
    """The decrypted client secret, or None for a public (PKCE-only) client."""
    if provider.client_secret_enc is None:
        return None
    return keyring.decrypt(provider.client_secret_enc, secret_context(provider.id)).decode()


def redirect_uri(issuer: str, provider: IdentityProvider) -> str:
    """The callback to register at the upstream."""
    return f"{issuer.rstrip('/')}/login/external/{provider.slug}/callback"


def _clean(spec: ProviderSpec, outbound: OutboundPolicy) -> ProviderSpec:
    name = (spec.name or "").strip()
    if not 1 <= len(name) <= 100 or any(ord(c) < 32 for c in name):
        raise ValidationFailed("Give the provider a name of 1 to 100 characters.", field="name")
    if spec.type not in TYPES:
        raise ValidationFailed(f"type must be one of: {', '.join(TYPES)}.", field="type")
    preset = GITHUB if spec.type == "github" else PRESET_ISSUERS.get(name.lower())
    issuer = (spec.issuer or preset or "").strip().rstrip("/")
    if not re.match(r"^https?://[^\s?#]+$", issuer):
        raise ValidationFailed("issuer must be the upstream's http(s) issuer URL.", field="issuer")
    try:
        check_registered_url(issuer, outbound)
    except OutboundRefused as exc:
        raise ValidationFailed(f"issuer: {exc} (see IDP_OUTBOUND_ALLOW)", field="issuer") from None
    if not spec.client_id or len(spec.client_id) > 255:
        raise ValidationFailed("client_id is required (at most 255 characters).",
                               field="client_id")
    scopes = list(dict.fromkeys(
        s for item in spec.scopes or DEFAULT_SCOPES[spec.type] for s in item.split()))
    if not all(_SCOPE.match(s) for s in scopes) or (
            spec.type == "oidc" and "openid" not in scopes):
        raise ValidationFailed("scopes must be valid scope names (and include openid for "
                               "OpenID Connect).", field="scopes")
    domains = [d.strip().lower().rstrip(".") for d in spec.domains]
    if not all(_DOMAIN.match(d) for d in domains):
        raise ValidationFailed("domains must be DNS names such as example.com.", field="domains")
    if spec.client_secret is not None and not 1 <= len(spec.client_secret) <= 1000:
        raise ValidationFailed("client_secret must be 1 to 1000 characters.",
                               field="client_secret")
    return ProviderSpec(name, spec.type, issuer, spec.client_id, spec.client_secret, scopes,
                        list(dict.fromkeys(domains)), list(dict.fromkeys(spec.roles)),
                        list(dict.fromkeys(spec.groups)), bool(spec.link_by_verified_email),
                        bool(spec.existing_accounts_only))


def _slug(db: Session, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50] or "provider"
    if base == "link":  # /login/external/link is the linking page
        base = "link-provider"
    taken = set(db.execute(select(IdentityProvider.slug)
                           .where(IdentityProvider.slug.like(f"{base}%"))).scalars())
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_provider(db: Session, ctx: RequestContext, keyring: Keyring, tenant: Tenant,
                    spec: ProviderSpec, outbound: OutboundPolicy = PUBLIC_ONLY
                    ) -> IdentityProvider:
    """Register a provider in `tenant`, audited; the caller checks who may grant its roles."""
    spec = _clean(spec, outbound)
    if len(named_roles(db, spec.roles, tenant.id)) != len(spec.roles):
        raise ValidationFailed("Unknown role.", field="roles")
    if len(managed_groups(db, tenant.id, spec.groups)) != len(spec.groups):
        raise ValidationFailed("Unknown group.", field="groups")
    provider = IdentityProvider(
        id=uuid.uuid4(), tenant_id=tenant.id, slug=_slug(db, spec.name), name=spec.name,
        type=spec.type, issuer=spec.issuer, client_id=spec.client_id, scopes=spec.scopes,
        domains=spec.domains, roles=spec.roles, groups=spec.groups, created_at=ctx.now,
        link_by_verified_email=spec.link_by_verified_email,
        existing_accounts_only=spec.existing_accounts_only)
    if spec.client_secret:
        provider.client_secret_enc = keyring.encrypt(spec.client_secret.encode(),
                                                     secret_context(provider.id))
    db.add(provider)
    db.flush()
    record(db, ctx, EventType.PROVIDER_CREATED, tenant_id=tenant.id,
           details={"provider_id": str(provider.id), "slug": provider.slug,
                    "type": provider.type, "issuer": provider.issuer})
    return provider


def managed_groups(db: Session, tenant_id: uuid.UUID, names: list[str]) -> list[Group]:
    """The tenant's groups with these names (the ones a provider may manage)."""
    if not names:
        return []
    return list(db.execute(select(Group).where(Group.tenant_id == tenant_id,
                                               Group.name.in_(names))).scalars())


def delete_provider(db: Session, ctx: RequestContext, provider: IdentityProvider) -> None:
    """Remove a provider and every identity linked through it, audited."""
    record(db, ctx, EventType.PROVIDER_DELETED, tenant_id=provider.tenant_id,
           details={"provider_id": str(provider.id), "slug": provider.slug})
    db.delete(provider)
    db.flush()


def list_providers(db: Session, tenant_id: uuid.UUID | None = None) -> list[IdentityProvider]:
    """Providers, of one tenant when given, in creation order."""
    stmt = select(IdentityProvider).order_by(IdentityProvider.created_at, IdentityProvider.slug)
    if tenant_id is not None:
        stmt = stmt.where(IdentityProvider.tenant_id == tenant_id)
    return list(db.execute(stmt).scalars())


def query_provider(db: Session, ref: str) -> IdentityProvider:
    """A provider by id or slug; NotFound otherwise."""
    try:
        found = db.get(IdentityProvider, uuid.UUID(str(ref)))
    except ValueError:
        found = db.execute(select(IdentityProvider).where(IdentityProvider.slug == str(ref)[:64])
                           ).scalar_one_or_none()
    if found is None:
        raise NotFound("No such provider.")
    return found


def provider_for_email(db: Session, tenant_id: uuid.UUID, login: str) -> IdentityProvider | None:
    """Home realm discovery: the provider claiming the domain of an address, if any."""
    if "@" not in login:
        return None
    domain = login.rsplit("@", 1)[1].strip().lower().rstrip(".")
    return next((p for p in list_providers(db, tenant_id) if domain in (p.domains or [])), None)


def describe_provider(provider: IdentityProvider, issuer: str) -> dict:
    """The JSON shape of a provider (the secret is never shown)."""
    return {"id": str(provider.id), "slug": provider.slug, "name": provider.name,
            "type": provider.type, "tenant_id": str(provider.tenant_id),
            "issuer": provider.issuer, "client_id": provider.client_id,
            "has_client_secret": provider.client_secret_enc is not None,
            "scopes": provider.scopes, "domains": provider.domains, "roles": provider.roles,
            "groups": provider.groups,
            "link_by_verified_email": provider.link_by_verified_email,
            "existing_accounts_only": provider.existing_accounts_only,
            "redirect_uri": redirect_uri(issuer, provider),
            "created_at": provider.created_at.isoformat()}
