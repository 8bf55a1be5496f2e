"""Upstream identity providers: register, list, delete; client secrets encrypted at rest."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import NotFound, ValidationFailed
from idp.keyring import Keyring
from idp.models.federation import IdentityProvider
from idp.models.groups import Group
from idp.models.tenancy import Tenant
from idp.outbound import PUBLIC_ONLY, OutboundPolicy, OutboundRefused, check_registered_url
from idp.rbac.access import named_roles
from idp.request_context import RequestContext

TYPES = ("oidc", "github", "saml")
DEFAULT_SCOPES = {"oidc": ["openid", "email", "profile"], "github": ["read:user", "user:email"],
                  "saml": []}
GITHUB = "https://github.com"  # or a GitHub Enterprise Server given as --issuer
# Issuers that need no tenant-specific part (Entra ID and Okta do: see docs/federation.md).
PRESET_ISSUERS = {"google": "https://accounts.google.com", "gitlab": "https://gitlab.com"}
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")  # RFC 6749 3.3 scope-token
MAX_METADATA_XML = 512 * 1024


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
    metadata_url: str | None = None  # SAML: the IdP's metadata, by URL ...
    metadata_xml: str | None = None  # ... or as a document
    allow_idp_initiated: bool = False  # SAML: accept a response no request of ours asked for
    end_session: bool = False  # OIDC: our logout also ends the upstream session


def secret_context(provider_id: uuid.UUID) -> str:
    """AES-GCM associated data: a secret cannot be moved to another provider's row."""
    return f"provider-secret:{provider_id}"


def client_secret(keyring: Keyring, provider: IdentityProvider) -> str | None:
    """The decrypted client secret, or None for a public (PKCE-only) client."""
    if provider.client_secret_enc is None:
        return None
    return keyring.decrypt(provider.client_secret_enc, secret_context(provider.id)).decode()


def redirect_uri(issuer: str, provider: IdentityProvider) -> str:
    """The callback to register at the upstream (for SAML: the assertion consumer service)."""
    return f"{issuer.rstrip('/')}/login/external/{provider.slug}/callback"


def sp_metadata_url(issuer: str, provider: IdentityProvider) -> str:
    """SAML: where our SP metadata for this provider is published (also our entity id)."""
    return f"{issuer.rstrip('/')}/login/external/{provider.slug}/metadata"


def _checked_url(url: str, outbound: OutboundPolicy, field_name: str) -> None:
    try:
        check_registered_url(url, outbound)
    except OutboundRefused as exc:
        raise ValidationFailed(f"{field_name}: {exc} (see IDP_OUTBOUND_ALLOW)",
                               field=field_name) from None


def _clean_saml(spec: ProviderSpec, outbound: OutboundPolicy) -> tuple[str, str, str | None]:
    """(IdP entity id, metadata XML, metadata URL) from --metadata-url or --metadata-file."""
    if bool(spec.metadata_url) == bool(spec.metadata_xml):
        raise ValidationFailed("A SAML provider needs its IdP metadata: metadata_url or "
                               "metadata_xml (one of them).", field="metadata_url")
    if spec.client_id or spec.client_secret:
        raise ValidationFailed("A SAML provider has no client_id or client_secret.",
                               field="client_id")
    import idp.federation.saml as saml  # pysaml2: only when a SAML provider is registered

    url, xml = spec.metadata_url, spec.metadata_xml
    try:
        if url:
            if not re.match(r"^https?://[^\s#]+$", url) or len(url) > 500:
                raise ValueError("metadata_url must be an http(s) URL")
            _checked_url(url, outbound, "metadata_url")
            xml = saml.fetch_metadata(url, outbound)
        if len(xml) > MAX_METADATA_XML:
            raise ValueError("the SAML metadata is larger than 512 KiB")
        entity_id = saml.read_metadata(xml)
    except ValueError as exc:
        raise ValidationFailed(f"{exc}.", field="metadata_url" if url else "metadata_xml") \
            from None
    if len(entity_id) > 500:
        raise ValidationFailed("The IdP entity id is longer than 500 characters.",
                               field="metadata_xml")
    return entity_id, xml, url


def _clean_oauth(spec: ProviderSpec, name: str, outbound: OutboundPolicy) -> tuple[str, list]:
    """(issuer, scopes) of an OpenID Connect or GitHub provider."""
    if spec.metadata_url or spec.metadata_xml or spec.allow_idp_initiated:
        raise ValidationFailed("metadata and IdP-initiated sign-in are for SAML providers.",
                               field="metadata_url")
    preset = GITHUB if spec.type == "github" else PRESET_ISSUERS.get(name.lower())
    issuer = (spec.issuer or preset or "").strip().rstrip("/")
    if not re.match(r"^https?://[^\s?#]+$", issuer) or len(issuer) > 500:
        raise ValidationFailed("issuer must be the upstream's http(s) issuer URL.", field="issuer")
    _checked_url(issuer, outbound, "issuer")
    if not spec.client_id or len(spec.client_id) > 255:
        raise ValidationFailed("client_id is required (at most 255 characters).",
                               field="client_id")
    scopes = list(dict.fromkeys(
        s for item in spec.scopes or DEFAULT_SCOPES[spec.type] for s in item.split()))
    if not all(_SCOPE.match(s) for s in scopes) or (
            spec.type == "oidc" and "openid" not in scopes):
        raise ValidationFailed("scopes must be valid scope names (and include openid for "
                               "OpenID Connect).", field="scopes")
    if spec.end_session and spec.type != "oidc":
        raise ValidationFailed("Ending the upstream session is for OpenID Connect providers.",
                               field="end_session")
    return issuer, scopes


def _clean(spec: ProviderSpec, outbound: OutboundPolicy) -> ProviderSpec:
    name = (spec.name or "").strip()
    if not 1 <= len(name) <= 100 or any(ord(c) < 32 for c in name):
        raise ValidationFailed("Give the provider a name of 1 to 100 characters.", field="name")
    if spec.type not in TYPES:
        raise ValidationFailed(f"type must be one of: {', '.join(TYPES)}.", field="type")
    cleaned = ProviderSpec(name, spec.type, client_id=spec.client_id,
                           client_secret=spec.client_secret,
                           link_by_verified_email=bool(spec.link_by_verified_email),
                           existing_accounts_only=bool(spec.existing_accounts_only),
                           allow_idp_initiated=bool(spec.allow_idp_initiated),
                           end_session=bool(spec.end_session))
    if spec.type == "saml":
        cleaned.issuer, cleaned.metadata_xml, cleaned.metadata_url = _clean_saml(spec, outbound)
        cleaned.client_id = None
    else:
        cleaned.issuer, cleaned.scopes = _clean_oauth(spec, name, outbound)
    domains = [d.strip().lower().rstrip(".") for d in spec.domains]
    if not all(_DOMAIN.match(d) for d in domains):
        raise ValidationFailed("domains must be DNS names such as example.com.", field="domains")
    if spec.client_secret is not None and not 1 <= len(spec.client_secret) <= 1000:
        raise ValidationFailed("client_secret must be 1 to 1000 characters.",
                               field="client_secret")
    cleaned.domains = list(dict.fromkeys(domains))
    cleaned.roles, cleaned.groups = list(dict.fromkeys(spec.roles)), list(dict.fromkeys(spec.groups))
    return cleaned


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


def _check_names(db: Session, tenant_id: uuid.UUID, spec: ProviderSpec) -> None:
    if len(named_roles(db, spec.roles, tenant_id)) != len(spec.roles):
        raise ValidationFailed("Unknown role.", field="roles")
    if len(managed_groups(db, tenant_id, spec.groups)) != len(spec.groups):
        raise ValidationFailed("Unknown group.", field="groups")


def _apply(provider: IdentityProvider, spec: ProviderSpec) -> None:
    for attr in ("name", "issuer", "client_id", "scopes", "domains", "roles", "groups",
                 "link_by_verified_email", "existing_accounts_only", "allow_idp_initiated",
                 "end_session", "metadata_url"):
        setattr(provider, attr, getattr(spec, attr))
    provider.saml_metadata = spec.metadata_xml


def create_provider(db: Session, ctx: RequestContext, keyring: Keyring, tenant: Tenant,
                    spec: ProviderSpec, outbound: OutboundPolicy = PUBLIC_ONLY
                    ) -> IdentityProvider:
    """Register a provider in `tenant`, audited; the caller checks who may grant its roles."""
    spec = _clean(spec, outbound)
    _check_names(db, tenant.id, spec)
    provider = IdentityProvider(id=uuid.uuid4(), tenant_id=tenant.id, type=spec.type,
                                slug=_slug(db, spec.name), created_at=ctx.now)
    _apply(provider, spec)
    if spec.client_secret:
        provider.client_secret_enc = keyring.encrypt(spec.client_secret.encode(),
                                                     secret_context(provider.id))
    db.add(provider)
    db.flush()
    record(db, ctx, EventType.PROVIDER_CREATED, tenant_id=tenant.id,
           details={"provider_id": str(provider.id), "slug": provider.slug,
                    "type": provider.type, "issuer": provider.issuer})
    return provider


def current_spec(provider: IdentityProvider) -> ProviderSpec:
    """The provider as a spec (without its secret): the base an edit changes."""
    return ProviderSpec(
        provider.name, provider.type, provider.issuer, provider.client_id, None,
        list(provider.scopes or []), list(provider.domains or []), list(provider.roles or []),
        list(provider.groups or []), provider.link_by_verified_email,
        provider.existing_accounts_only, provider.metadata_url,
        None if provider.metadata_url else provider.saml_metadata,
        provider.allow_idp_initiated, provider.end_session)


def update_provider(db: Session, ctx: RequestContext, keyring: Keyring,
                    provider: IdentityProvider, spec: ProviderSpec,
                    outbound: OutboundPolicy = PUBLIC_ONLY) -> list[str]:
    """Change a provider (not its type or slug) to `spec`, audited with the fields changed;
    a SAML provider with a metadata URL re-reads it. A secret of None keeps the old one."""
    if spec.type != provider.type:
        raise ValidationFailed("The type of a provider cannot change.", field="type")
    spec = _clean(spec, outbound)
    _check_names(db, provider.tenant_id, spec)
    before = describe_provider(provider, "")
    old_metadata = provider.saml_metadata
    _apply(provider, spec)
    if spec.client_secret:
        provider.client_secret_enc = keyring.encrypt(spec.client_secret.encode(),
                                                     secret_context(provider.id))
    after = describe_provider(provider, "")
    changed = sorted(k for k in after if after[k] != before[k])
    if spec.client_secret:
        changed.append("client_secret")
    if provider.saml_metadata != old_metadata:
        changed.append("metadata")
    db.flush()
    record(db, ctx, EventType.PROVIDER_UPDATED, tenant_id=provider.tenant_id,
           details={"provider_id": str(provider.id), "slug": provider.slug,
                    "changed": changed})
    return changed


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
            "end_session": provider.end_session,
            "redirect_uri": redirect_uri(issuer, provider),
            "created_at": provider.created_at.isoformat(),
            **({"metadata_url": sp_metadata_url(issuer, provider),
                "upstream_metadata_url": provider.metadata_url,
                "allow_idp_initiated": provider.allow_idp_initiated}
               if provider.type == "saml" else {})}
