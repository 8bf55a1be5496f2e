"""`idp backup` keeps the database password off pg_dump's command line (ps shows argv)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest
from sqlalchemy.engine import make_url

from tests.production.conftest import _prepare
from tests.production.pg_cluster import pg_cluster  # noqa: F401 - fixture
from tests.production.servers import run_cli

pytestmark = pytest.mark.slow
PASSWORD = "Backup:Pa\\ss-7w0rd"  # a colon and a backslash: the password file escapes both


def _spy_pg_dump(folder) -> None:
    """A pg_dump in front of the real one that writes down what `ps` would show."""
    folder.mkdir()
    script = folder / "pg_dump"
    script.write_text(f'#!/bin/sh\ntr "\\0" " " < /proc/$$/cmdline > "{folder}/argv"\n'
                      f'echo "$PGPASSFILE" > "{folder}/passfile"\n'
                      f'exec {shutil.which("pg_dump")} "$@"\n')
    script.chmod(0o755)


def test_pg_dump_gets_the_password_from_a_private_file_not_argv(tmp_path, pg_cluster):  # noqa: F811
    pg_cluster.create_database("idp")
    pg_cluster.require_password(PASSWORD)
    url = make_url(pg_cluster.url("idp")).set(password=PASSWORD)
    dep = _prepare(tmp_path, url.render_as_string(hide_password=False))
    spy = tmp_path / "spy"
    _spy_pg_dump(spy)
    env = {**dep.env, "PATH": f"{spy}:{os.environ['PATH']}"}
    env.pop("PGPASSWORD", None)
    dump = tmp_path / "idp.dump"

    done = run_cli(env, tmp_path, "backup", "--output", str(dump))

    assert done.returncode == 0, done.stderr
    argv = (spy / "argv").read_text()
    assert "--dbname=postgresql://postgres@127.0.0.1:" in argv
    assert "Backup" not in argv and "7w0rd" not in argv and PASSWORD not in done.stderr
    passfile = (spy / "passfile").read_text().strip()
    assert passfile and not os.path.exists(passfile)  # removed once pg_dump is done
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    # The dump is whole: it restores, with the person in it.
    pg_cluster.create_database("restored")
    restore = subprocess.run(["pg_restore", "--no-owner", "-h", str(pg_cluster.root), "-p",
                              str(pg_cluster.port), "-U", "postgres", "-d", "restored",
                              str(dump)], capture_output=True, text=True, timeout=120)
    assert restore.returncode == 0, restore.stderr
    assert pg_cluster.sql("SELECT count(*) FROM users WHERE username = 'alice'",
                          database="restored") == "1"
