"""`idp audit ...`"""

from __future__ import annotations

import json

import click

from idp.cli.base import main, with_app


@main.group()
def audit():
    """The audit log."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True)
@with_app
def audit_verify(app, as_json):
    """Check the hash chain; exit 1 and name the first broken link if it was tampered with."""
    from idp.audit.verify import verify_chain
    from idp.extensions import db as database

    report = verify_chain(database.session)
    if as_json:
        click.echo(json.dumps(report.__dict__))
    elif report.ok:
        click.echo(f"audit log intact: {report.checked} events checked "
                   f"({report.pseudonymised} pseudonymised after an erasure)")
    if not report.ok:
        where = f"event {report.broken_id}" if report.broken_id else "chain head"
        click.echo(f"error: audit chain broken at {where}: {report.reason}", err=True)
        raise SystemExit(1)
