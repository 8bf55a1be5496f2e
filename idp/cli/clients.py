"""`idp clients ...`"""

from __future__ import annotations

import json

import click

from idp.cli.base import fail, main, with_app
from idp.request_context import system_context

# --- clients -----------------------------------------------------------------------------

@main.group()
def clients():
    """Manage OAuth clients (relying parties and services)."""


@clients.command("create")
@click.option("--name", required=True)
@click.option("--grant-type", "grant_types", multiple=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "post_logout_uris", multiple=True)
@click.option("--scope", "scopes", multiple=True)
@click.option("--audience", "audiences", multiple=True, help="Allowed RFC 8707 resources.")
@click.option("--public", is_flag=True)
@click.option("--first-party", is_flag=True)
@click.option("--auth-method")
@click.option("--jwks-uri")
@click.option("--backchannel-logout-uri", help="OpenID Back-Channel Logout 1.0 endpoint.")
@click.option("--backchannel-logout-session-required", "bcl_sid", is_flag=True,
              help="The client needs `sid` in logout tokens.")
@click.option("--require-par", is_flag=True,
              help="Authorization requests only through /par (RFC 9126).")
@click.option("--require-dpop-nonce", is_flag=True,
              help="DPoP proofs must carry a server nonce (RFC 9449 8).")
@click.option("--security-profile", type=click.Choice(["fapi2"]),
              help="fapi2: the FAPI 2.0 Security Profile (PAR, PKCE, private_key_jwt, DPoP).")
@click.option("--jwks-file", type=click.Path(exists=True, dir_okay=False))
@click.option("--token-alg", default="RS256", show_default=True)
@click.option("--expires-in", type=int, help="Seconds until the client stops working.")
@click.option("--access-token-ttl", type=int, help="Seconds (at most IDP_ACCESS_TOKEN_TTL).")
@click.option("--refresh-token-ttl", type=int, help="Seconds (at most IDP_REFRESH_TOKEN_TTL).")
@click.option("--id-token-ttl", type=int, help="Seconds (at most IDP_ID_TOKEN_TTL).")
@click.option("--require-pkce", is_flag=True, help="PKCE for a confidential client too.")
@click.option("--role", "roles", multiple=True)
@click.option("--tenant")
@click.option("--json", "as_json", is_flag=True)
@with_app
def clients_create(app, name, grant_types, redirect_uris, post_logout_uris, scopes, audiences,
                   public, first_party, auth_method, jwks_uri, backchannel_logout_uri, bcl_sid,
                   require_par, require_dpop_nonce, security_profile, jwks_file, token_alg,
                   expires_in, access_token_ttl, refresh_token_ttl, id_token_ttl, require_pkce,
                   roles, tenant, as_json):
    """Register a client; its secret is printed once."""
    from idp.extensions import db as database
    from idp.oauth.clients.service import ClientSpec, create_client
    from idp.tenancy.tenants import query_tenant

    jwks = None
    if jwks_file:
        with open(jwks_file) as handle:
            try:
                jwks = json.load(handle)
            except ValueError:
                fail(f"{jwks_file} is not JSON")
    grants = list(grant_types) or (["authorization_code", "refresh_token"] if redirect_uris
                                   else ["client_credentials"])
    spec = ClientSpec(name=name, grant_types=grants, redirect_uris=list(redirect_uris),
                      post_logout_redirect_uris=list(post_logout_uris),
                      scopes=[s for item in scopes for s in item.split()], public=public,
                      first_party=first_party, auth_method=auth_method, jwks=jwks,
                      jwks_uri=jwks_uri, roles=list(roles), audiences=list(audiences),
                      token_alg=token_alg, expires_in=expires_in,
                      backchannel_logout_uri=backchannel_logout_uri,
                      backchannel_logout_session_required=bcl_sid,
                      require_pushed_authorization_requests=require_par,
                      require_dpop_nonce=require_dpop_nonce, security_profile=security_profile,
                      access_token_ttl=access_token_ttl, refresh_token_ttl=refresh_token_ttl,
                      id_token_ttl=id_token_ttl, require_pkce=require_pkce)
    tenant_row = query_tenant(database.session, tenant)
    svc = app.extensions["idp"]
    client, secret = create_client(database.session, system_context(), svc.keyring, tenant_row,
                                   spec, svc.outbound_policy, svc.config)
    database.session.commit()
    out = {"client_id": client.id, "client_secret": secret}
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"client_id: {client.id}")
        if secret:
            click.echo(f"client_secret: {secret}  (shown only now)")


@clients.command("initial-access-token")
@click.option("--tenant", help="Tenant the registered clients land in (default tenant if unset).")
@click.option("--uses", default=1, show_default=True, type=int,
              help="Registrations it allows; 0 = any number until it expires.")
@click.option("--expires-in", default=86400, show_default=True, type=int,
              help="Seconds the token can be used.")
@click.option("--grant-type", "grant_types", multiple=True,
              help="Grant types registered clients may use (default authorization_code, "
                   "refresh_token).")
@click.option("--redirect-uri-prefix", "prefixes", multiple=True,
              help="Registered redirect URIs must lie under one of these (default: any).")
@click.option("--scope", "scopes", multiple=True, help="Scopes clients may ask for "
                                                       "(default: the OpenID scopes).")
@click.option("--json", "as_json", is_flag=True)
@with_app
def clients_initial_access_token(app, tenant, uses, expires_in, grant_types, prefixes, scopes,
                                 as_json):
    """An initial access token for dynamic client registration (RFC 7591); shown once."""
    from idp.extensions import db as database
    from idp.oauth.clients.initial_access_tokens import issue_token
    from idp.tenancy.tenants import query_tenant

    row, token = issue_token(database.session, system_context(),
                             query_tenant(database.session, tenant), uses=uses,
                             expires_in=expires_in, grant_types=list(grant_types) or None,
                             redirect_uri_prefixes=list(prefixes),
                             scopes=[s for item in scopes for s in item.split()] or None)
    database.session.commit()
    out = {"initial_access_token": token, "id": str(row.id),
           "expires_at": row.expires_at.isoformat().replace("+00:00", "Z"),
           "max_uses": row.max_uses}
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"initial_access_token: {token}  (shown only now)")
        click.echo(f"id: {out['id']}  expires: {out['expires_at']}  "
                   f"uses: {row.max_uses or 'unlimited'}")


@clients.group("secret")
def clients_secret():
    """Client secrets."""


@clients_secret.command("rotate")
@click.argument("client_id")
@click.option("--grace", default=86400, show_default=True, type=int,
              help="Seconds the previous secret keeps working.")
@click.option("--json", "as_json", is_flag=True)
@with_app
def clients_secret_rotate(app, client_id, grace, as_json):
    """Issue a new secret; the old one works for --grace seconds more."""
    from idp.admin.operations import rotate_secret
    from idp.extensions import db as database
    from idp.oauth.clients.service import query_client_or_404

    client = query_client_or_404(database.session, client_id)
    secret = rotate_secret(database.session, system_context(), app.extensions["idp"].keyring,
                           client, grace)
    database.session.commit()
    out = {"client_id": client.id, "client_secret": secret, "previous_valid_for": grace}
    click.echo(json.dumps(out) if as_json else f"client_secret: {secret}  (shown only now)")


@clients.group("scim-token")
def clients_scim_token():
    """Long-lived SCIM tokens, for directories that store a static bearer token."""


@clients_scim_token.command("issue")
@click.argument("client_id")
@click.option("--days", type=int, help="Days until the token expires (default 180, at most 730).")
@click.option("--json", "as_json", is_flag=True)
@with_app
def clients_scim_token_issue(app, client_id, days, as_json):
    """Issue a SCIM token for a client allowed idp:scim; printed once."""
    from idp.extensions import db as database
    from idp.oauth.clients.scim_tokens import describe_scim_token, issue_scim_token
    from idp.oauth.clients.service import query_client_or_404

    client = query_client_or_404(database.session, client_id)
    row, value = issue_scim_token(database.session, system_context(), client, days)
    database.session.commit()
    out = {**describe_scim_token(row), "scim_token": value}
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"scim_token: {value}  (shown only now)\nid: {out['id']}\n"
                   f"expires_at: {out['expires_at']}")


@clients_scim_token.command("list")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
@with_app
def clients_scim_token_list(app, client_id, as_json):
    """The client's SCIM tokens (never their values)."""
    from idp.extensions import db as database
    from idp.oauth.clients.scim_tokens import describe_scim_token, list_scim_tokens
    from idp.oauth.clients.service import query_client_or_404

    rows = list_scim_tokens(database.session, query_client_or_404(database.session, client_id))
    items = [describe_scim_token(r) for r in rows]
    if as_json:
        click.echo(json.dumps(items))
        return
    for t in items:
        state = "revoked" if t["revoked_at"] else "active"
        click.echo(f"{t['id']}  {t['hint']}  {state:7}  expires {t['expires_at']}  "
                   f"last used {t['last_used_at'] or '-'}")


@clients_scim_token.command("revoke")
@click.argument("client_id")
@click.argument("token_id")
@with_app
def clients_scim_token_revoke(app, client_id, token_id):
    """Revoke one SCIM token at once."""
    from idp.extensions import db as database
    from idp.oauth.clients.scim_tokens import revoke_scim_token
    from idp.oauth.clients.service import query_client_or_404

    revoke_scim_token(database.session, system_context(),
                      query_client_or_404(database.session, client_id), token_id)
    database.session.commit()
    click.echo(f"revoked SCIM token {token_id}")


@clients.command("revoke")
@click.argument("client_id")
@with_app
def clients_revoke(app, client_id):
    """Revoke a client: no new tokens, its tokens inactive at once."""
    from idp.extensions import db as database
    from idp.oauth.clients.service import query_client_or_404, revoke_client

    revoke_client(database.session, system_context(), query_client_or_404(database.session, client_id))
    database.session.commit()
    click.echo(f"revoked {client_id}")


@clients.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_app
def clients_list(app, as_json):
    """Every client with its state and last use."""
    from sqlalchemy import select

    from idp.extensions import db as database
    from idp.models.oauth import Client
    from idp.oauth.clients.service import describe_client

    rows = database.session.execute(select(Client).order_by(Client.created_at)).scalars()
    items = [describe_client(c) for c in rows]
    if as_json:
        click.echo(json.dumps(items))
        return
    for c in items:
        state = "revoked" if c["revoked_at"] else "active"
        click.echo(f"{c['client_id']}  {c['name']:20.20}  {state:7}  "
                   f"{','.join(c['grant_types'])}  last used {c['last_used_at'] or '-'}")


@clients.command("show")
@click.argument("client_id")
@with_app
def clients_show(app, client_id):
    """One client as JSON: settings, secrets (created / last used / expires) and daily usage."""
    from sqlalchemy import select

    from idp.extensions import db as database
    from idp.models.oauth import ClientUsageDay
    from idp.oauth.clients.service import describe_client, query_client_or_404

    client = query_client_or_404(database.session, client_id)
    days = database.session.execute(select(ClientUsageDay).where(
        ClientUsageDay.client_id == client.id).order_by(ClientUsageDay.day)).scalars().all()
    click.echo(json.dumps(describe_client(client, days), indent=2))


@clients.command("delete")
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Confirm deletion.")
@with_app
def clients_delete(app, client_id, yes):
    """Delete a client and what was issued to it (revoke is the reversible step)."""
    from idp.extensions import db as database
    from idp.oauth.clients.service import delete_client, query_client_or_404

    if not yes:
        fail("deleting a client is permanent; add --yes to confirm")
    delete_client(database.session, system_context(), query_client_or_404(database.session, client_id))
    database.session.commit()
    click.echo(f"deleted {client_id}")
