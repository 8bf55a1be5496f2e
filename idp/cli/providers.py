"""`idp providers ...`: upstream identity providers people may sign in with."""

from __future__ import annotations

import json
import sys

import click

from idp.cli.base import fail, main, with_app
from idp.request_context import system_context


@main.group()
def providers():
    """Manage upstream identity providers (sign in with Google, Entra ID, Okta, ...)."""


@providers.command("create")
@click.option("--name", required=True, help='Shown on the login page as "Sign in with N".')
@click.option("--type", "kind", type=click.Choice(["oidc", "saml", "github"]), default="oidc",
              show_default=True)
@click.option("--issuer", help="The upstream issuer (OpenID Connect discovery); for github "
              "a GitHub Enterprise Server URL (default https://github.com).")
@click.option("--metadata-url", help="SAML: the IdP's metadata URL (read now, through "
              "IDP_OUTBOUND_ALLOW).")
@click.option("--metadata-file", type=click.File("r", encoding="utf-8"),
              help="SAML: the IdP's metadata file.")
@click.option("--client-id")
@click.option("--client-secret-stdin", is_flag=True, help="Read the client secret from stdin.")
@click.option("--scope", "scopes", multiple=True)
@click.option("--domain", "domains", multiple=True, help="Email domain sent to this provider.")
@click.option("--tenant")
@click.option("--role", "roles", multiple=True, help="Role given to people it provisions.")
@click.option("--group", "groups", multiple=True,
              help="Our group whose membership follows the upstream's groups claim.")
@click.option("--link-by-verified-email", is_flag=True,
              help="Link to an existing account whose email the upstream says is verified.")
@click.option("--existing-accounts-only", is_flag=True,
              help="Never create accounts; only people already linked or linkable sign in.")
@click.option("--allow-idp-initiated", is_flag=True,
              help="SAML: accept a sign-in started at the IdP (no request of ours).")
@click.option("--end-session", is_flag=True,
              help="OpenID Connect: our logout also ends the upstream session.")
@click.option("--json", "as_json", is_flag=True)
@with_app
def providers_create(app, name, kind, issuer, metadata_url, metadata_file, client_id,
                     client_secret_stdin, scopes, domains, tenant, roles, groups,
                     link_by_verified_email, existing_accounts_only, allow_idp_initiated,
                     end_session, as_json):
    """Register a provider; prints the callback to register at the upstream."""
    from idp.extensions import db as database
    from idp.federation.providers import (
        ProviderSpec,
        create_provider,
        redirect_uri,
        sp_metadata_url,
    )
    from idp.tenancy.tenants import query_tenant

    if (metadata_url or metadata_file) and kind != "saml":
        fail("--metadata-url and --metadata-file are for --type saml")
    secret = sys.stdin.readline().rstrip("\r\n") if client_secret_stdin else None
    spec = ProviderSpec(name=name, type=kind, issuer=issuer, client_id=client_id,
                        client_secret=secret or None, scopes=list(scopes),
                        domains=list(domains), roles=list(roles), groups=list(groups),
                        link_by_verified_email=link_by_verified_email,
                        existing_accounts_only=existing_accounts_only,
                        metadata_url=metadata_url,
                        metadata_xml=metadata_file.read(1024 * 1024) if metadata_file else None,
                        allow_idp_initiated=allow_idp_initiated, end_session=end_session)
    svc = app.extensions["idp"]
    provider = create_provider(database.session, system_context(), svc.keyring,
                               query_tenant(database.session, tenant), spec,
                               svc.outbound_policy)
    database.session.commit()
    out = {"id": str(provider.id), "slug": provider.slug,
           "redirect_uri": redirect_uri(svc.config.issuer, provider)}
    if provider.type == "saml":
        out["metadata_url"] = sp_metadata_url(svc.config.issuer, provider)
    if as_json:
        click.echo(json.dumps(out))
        return
    click.echo(f"id: {out['id']}\nslug: {out['slug']}\n"
               f"redirect_uri (register it at the upstream): {out['redirect_uri']}")
    if "metadata_url" in out:
        click.echo(f"metadata_url (our SP metadata for the IdP): {out['metadata_url']}")


@providers.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_app
def providers_list(app, as_json):
    """Every provider (secrets are never shown)."""
    from idp.extensions import db as database
    from idp.federation.providers import describe_provider, list_providers

    issuer = app.extensions["idp"].config.issuer
    items = [describe_provider(p, issuer) for p in list_providers(database.session)]
    if as_json:
        click.echo(json.dumps(items))
        return
    for p in items:
        click.echo(f"{p['id']}  {p['slug']:20.20}  {p['type']:5}  {p['issuer']}  "
                   f"domains {','.join(p['domains']) or '-'}")


@providers.command("delete")
@click.argument("provider_id")
@with_app
def providers_delete(app, provider_id):
    """Delete a provider and the identities linked through it."""
    from idp.extensions import db as database
    from idp.federation.providers import delete_provider, query_provider

    delete_provider(database.session, system_context(),
                    query_provider(database.session, provider_id))
    database.session.commit()
    click.echo(f"deleted {provider_id}")
