"""Two `idp db upgrade` at once on one empty PostgreSQL database: the second waits, both succeed."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import create_engine, text

from idp.schema import MIGRATION_LOCK_KEY, head_revision
from tests.production.pg_cluster import pg_cluster  # noqa: F401 - fixture
from tests.production.servers import IDP, base_env, free_port, run_cli, wait_for

pytestmark = pytest.mark.slow


def _both_waiting(tmp_path, procs) -> bool:
    errors = [(tmp_path / f"upgrade{n}.err").read_text() for n in range(len(procs))]
    for (proc, _), stderr in zip(procs, errors, strict=True):
        # An upgrade that ended while the lock was held did not wait: say why at once.
        assert proc.poll() is None, f"upgrade ended ({proc.returncode}) while locked: {stderr}"
    return all("waiting for another" in stderr for stderr in errors)


def _race_behind_a_held_lock(holder, env, tmp_path, procs) -> list[tuple]:
    with holder.connect() as conn:
        # Someone (an instance starting) is migrating: both newcomers must queue behind it.
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        try:
            for n in range(2):
                err = open(tmp_path / f"upgrade{n}.err", "w+")  # noqa: SIM115 - closed by caller
                procs.append((subprocess.Popen([*IDP, "db", "upgrade"], env=env, cwd=tmp_path,
                                               stdout=subprocess.PIPE, stderr=err, text=True),
                              err))
            wait_for(lambda: _both_waiting(tmp_path, procs), 90, "both upgrades to wait")
            assert all(proc.poll() is None for proc, _ in procs)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
    outcomes = []
    for proc, err in procs:
        stdout, _ = proc.communicate(timeout=120)
        err.seek(0)
        outcomes.append((proc.returncode, stdout, err.read()))
    return outcomes


def test_two_upgrades_at_once_wait_for_each_other(tmp_path, pg_cluster):  # noqa: F811
    url = pg_cluster.create_database("idp")
    env = base_env(tmp_path, url)
    # Advisory locks are per database: hold it in the one being migrated.
    holder = create_engine(url, isolation_level="AUTOCOMMIT")
    procs = []
    try:
        outcomes = _race_behind_a_held_lock(holder, env, tmp_path, procs)
    finally:
        for proc, err in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            err.close()
        holder.dispose()
    for code, stdout, stderr in outcomes:
        assert code == 0, stderr
        assert "Database is up to date." in stdout and "Error" not in stderr
    assert pg_cluster.sql("SELECT version_num FROM alembic_version", "idp") == head_revision()
    assert pg_cluster.sql("SELECT count(*) FROM users", "idp") == "1"
    assert pg_cluster.sql("SELECT count(*) FROM tenants", "idp") == "1"


def test_not_migrated_and_unreachable_are_told_apart(tmp_path, pg_cluster):  # noqa: F811
    empty = pg_cluster.create_database("empty")
    not_migrated = run_cli(base_env(tmp_path, empty), tmp_path, "keys", "list")
    assert not_migrated.returncode == 1
    assert not_migrated.stderr.strip() == (
        f"error: database at {empty} is not migrated (no idp schema); run 'idp db upgrade'")

    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/idp"
    unreachable = run_cli(base_env(tmp_path, nobody), tmp_path, "db", "upgrade")
    assert unreachable.returncode == 1 and "Traceback" not in unreachable.stderr
    assert unreachable.stderr.startswith(f"error: database unreachable at {nobody}: ")
    assert "idp db upgrade" not in unreachable.stderr  # migrating would not help
