"""`idp users import FILE.csv` and `idp users export [--format csv|json]`, with progress bars."""

from __future__ import annotations

import json
import sys

import click

from idp.cli.base import with_app
from idp.cli.users import users
from idp.request_context import system_context


def invitation_sender(app, pending: list):
    """Collects invitations; they are mailed after the commit (never for rolled-back rows)."""
    from idp.accounts.onboarding import issue_invitation
    from idp.extensions import db as database

    def invite(user) -> None:
        pending.append((user.email, user.locale, user.tenant_id,
                        issue_invitation(database.session, system_context(), user)))

    return invite


def send_invitations(app, pending: list) -> None:
    from idp.accounts.account_mail import set_password_invite_mail
    from idp.accounts.onboarding import INVITATION_TTL
    from idp.accounts.person_mail import deliver, in_persons_language
    from idp.extensions import db as database

    issuer = app.extensions["idp"].config.issuer
    mailer = app.extensions["idp"].mailer
    for email, locale, tenant_id, token in pending:
        with in_persons_language(locale) as language:
            message = set_password_invite_mail(email, f"{issuer}/password/reset/{token}",
                                               INVITATION_TTL // 86400)
        deliver(mailer, database.session, tenant_id, message, language)


@users.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--dry-run", is_flag=True, help="Check every row; change nothing.")
@click.option("--tenant")
@click.option("--invite", is_flag=True, help="Mail new people without a password an invitation.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_app
def users_import(app, file, dry_run, tenant, invite, as_json):
    """Create or update people from a CSV (idempotent by email); report errors per row."""
    from idp.accounts.bulk import read_csv
    from idp.accounts.bulk_import import import_users
    from idp.extensions import db as database
    from idp.tenancy.tenants import query_tenant

    rows = read_csv(file.read())
    tenant_row = query_tenant(database.session, tenant)
    pending: list = []
    sender = invitation_sender(app, pending) if invite else None
    with click.progressbar(length=len(rows), label="Importing", file=sys.stderr) as bar:
        report = import_users(database.session, system_context(), tenant_row, rows,
                              dry_run=dry_run, invite=sender, progress=bar.update)
    database.session.commit()
    if pending:
        send_invitations(app, pending)
    if as_json:
        click.echo(json.dumps({**report.summary(), "errors": [
            {"row": r.row, "email": r.email, "message": r.message} for r in report.errors]}))
    else:
        for r in report.errors:
            click.echo(f"row {r.row} ({r.email or 'no email'}): {r.message}")
        s = report.summary()
        click.echo(f"{'dry run: ' if dry_run else ''}{s['created']} created, {s['updated']} "
                   f"updated, {s['unchanged']} unchanged, {s['error']} with errors")
    if report.errors:
        sys.exit(1)


@users.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@click.option("--tenant")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
@with_app
def users_export(app, fmt, tenant, output):
    """Write every person (profile, status, roles) as CSV or JSON; no password material."""
    from idp.accounts.bulk import count_users, export_rows, rows_to_csv
    from idp.extensions import db as database
    from idp.tenancy.tenants import query_tenant

    tenant_id = query_tenant(database.session, tenant).id if tenant else None
    total = count_users(database.session, tenant_id)
    rows = export_rows(database.session, system_context(), tenant_id)
    with click.progressbar(rows, length=total, label="Exporting", file=sys.stderr) as bar:
        if fmt == "csv":
            for chunk in rows_to_csv(bar):
                output.write(chunk)
        else:
            output.write("[")
            for index, row in enumerate(bar):
                output.write(("," if index else "") + "\n" + json.dumps(row))
            output.write("\n]\n")
