"""`idp backup`: an online, consistent copy of the database.

SQLite: sqlite3's online backup API copies a consistent snapshot while the provider
keeps serving (WAL readers and the writer are not blocked for long), then the copy is
checked with `PRAGMA integrity_check`. PostgreSQL: `pg_dump --format=custom` (run when
it is on PATH, otherwise the exact command is printed). Restoring is documented in
docs/deployment.md ("Backup and restore").

The master key (`IDP_KEYS_DIR/master.key`) is not in the database on purpose: back it up
once, separately (`--with-keys` copies it next to the database for convenience).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump is the documented PostgreSQL backup tool
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy.engine import URL, make_url

from idp.cli.base import fail, main, with_app


def _default_name(suffix: str) -> str:
    return f"idp-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}{suffix}"


def backup_sqlite(source: str, target: Path) -> str:
    """Copy the live SQLite database at `source` to `target`; returns the integrity result."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    src = sqlite3.connect(source, timeout=30)
    tmp.unlink(missing_ok=True)
    tmp.touch(mode=0o600)  # it holds password hashes and encrypted keys
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst, pages=1024)  # in steps, so writers are not held up for long
        result = dst.execute("PRAGMA integrity_check").fetchone()[0]
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    finally:
        dst.close()
        src.close()
    tmp.replace(target)  # atomic: a half-written backup never carries the final name
    return result


def pg_dump_command(url: str, target: Path) -> list[str]:
    """The pg_dump invocation for a SQLAlchemy PostgreSQL URL, without its password.

    The command line is visible to every local user (ps, /proc); the password travels
    in a password file instead (`pg_password_file`).
    """
    parsed = make_url(url)
    libpq = URL.create("postgresql", parsed.username, None, parsed.host, parsed.port,
                       parsed.database, parsed.query)
    return ["pg_dump", "--format=custom", "--no-owner", f"--file={target}",
            f"--dbname={libpq.render_as_string(hide_password=False)}"]


def pg_password_file(url: str, folder: Path) -> Path | None:
    """A 0600 libpq password file (PGPASSFILE) in `folder` for the URL's password, if any."""
    password = make_url(url).password
    if not password:
        return None
    escaped = str(password).replace("\\", "\\\\").replace(":", "\\:")
    path = folder / "pgpass"
    path.touch(mode=0o600)
    path.write_text(f"*:*:*:*:{escaped}\n")  # only pg_dump reads it, for this one run
    return path


def _run_pg_dump(url: str, target: Path) -> None:
    command = pg_dump_command(url, target)
    if shutil.which("pg_dump") is None:
        fail("pg_dump is not installed; run: " + " ".join(command[:-1]) + " --dbname=<URL>")
    with tempfile.TemporaryDirectory(prefix="idp-backup-") as folder:
        env = dict(os.environ)
        if passfile := pg_password_file(url, Path(folder)):
            env["PGPASSFILE"] = str(passfile)
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600,  # noqa: S603
                              env=env)
    if done.returncode != 0:
        fail(f"pg_dump failed: {done.stderr.strip().splitlines()[-1] if done.stderr else ''}")


def _copy_keys(keys_dir: Path, target_dir: Path) -> Path:
    dest = target_dir / "keys"
    shutil.copytree(keys_dir, dest, dirs_exist_ok=True)
    for path in dest.rglob("*"):
        if path.is_file():
            path.chmod(0o600)
    return dest


@main.command("backup")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="File to write (default: backups/idp-<UTC time>.db or .dump).")
@click.option("--with-keys", is_flag=True, help="Also copy IDP_KEYS_DIR next to the backup.")
@with_app
def backup(app, output: Path | None, with_keys: bool):
    """Write an online backup of the database (SQLite backup API or pg_dump)."""
    from idp.extensions import db as database

    config = app.extensions["idp"].config
    url = make_url(str(database.engine.url))
    if url.get_backend_name() == "sqlite":
        target = output or Path("backups") / _default_name(".db")
        result = backup_sqlite(url.database, target)
        if result != "ok":
            fail(f"the backup at {target} failed its integrity check: {result}")
    elif url.get_backend_name() == "postgresql":
        target = output or Path("backups") / _default_name(".dump")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.touch(mode=0o600)  # pg_dump keeps the mode of the file it overwrites
        _run_pg_dump(database.engine.url.render_as_string(hide_password=False), target)
    else:
        fail(f"backups of {url.get_backend_name()} are not supported")
    click.echo(f"backup written: {target}")
    if with_keys:
        click.echo(f"keys copied: {_copy_keys(Path(config.keys_dir), target.parent)}")
    else:
        click.echo(f"remember: {config.keys_dir}/master.key is not in the backup; keep a copy")
