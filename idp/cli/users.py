"""`idp users ...`"""

from __future__ import annotations

import json
import sys

import click

from idp.cli.base import main, with_app
from idp.request_context import system_context

# --- users -------------------------------------------------------------------------------

@main.group()
def users():
    """Manage people."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--role", "roles", multiple=True)
@click.option("--tenant")
@click.option("--json", "as_json", is_flag=True)
@with_app
def users_create(app, email, username, password_stdin, roles, tenant, as_json):
    """Create a person (prints a generated password once unless --password-stdin)."""
    from idp.accounts.password_policy import generate_password
    from idp.accounts.users import create_user
    from idp.extensions import db as database
    from idp.rbac.roles import assign_role
    from idp.tenancy.tenants import query_tenant

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    generated = None
    if password is None:
        password = generated = generate_password()
    tenant_row = query_tenant(database.session, tenant)
    user = create_user(database.session, system_context(), tenant_row, email=email, username=username,
                       password=password, config=app.extensions["idp"].config)
    for role in roles:
        assign_role(database.session, system_context(), user, role, tenant_row)
    database.session.commit()
    out = {"id": str(user.id), "username": user.username, "email": user.email,
           "tenant": tenant_row.slug}
    if generated:
        out["password"] = generated
    click.echo(json.dumps(out) if as_json else "\n".join(f"{k}: {v}" for k, v in out.items()))
