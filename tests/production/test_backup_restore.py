"""`idp backup` while serving, wipe everything, restore, and the provider is whole again."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess

import pytest
import requests

from tests.production.invariants import check_after_fault
from tests.production.servers import IdpServer, exchange, login_for_code, run_cli

pytestmark = pytest.mark.slow


def _audit_rows(path: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, type, outcome, hash FROM audit_events ORDER BY id").fetchall()


def test_backup_then_restore_brings_users_clients_keys_and_audit_back(sqlite_deployment,
                                                                      servers):
    dep = sqlite_deployment
    db_path = dep.database_url.removeprefix("sqlite:///")
    server = dep.server().start()
    servers.append(server)
    _, code, verifier = login_for_code(server.url, dep.client_id)
    tokens = exchange(server.url, dep.client_id, dep.secret, code, verifier).json()
    jwks = requests.get(server.url + "/jwks.json", timeout=30).json()

    backup_file = dep.workdir / "backups" / "idp.db"
    done = run_cli(dep.env, dep.workdir, "backup", "--output", str(backup_file), "--with-keys")
    assert done.returncode == 0, done.stderr  # online: the server is still running
    assert f"backup written: {backup_file}" in done.stdout
    assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600
    assert (dep.workdir / "backups" / "keys" / "master.key").exists()
    server.stop()
    audit_before = _audit_rows(db_path)

    # Disaster: the database and the keys are gone.
    for suffix in ("", "-wal", "-shm"):
        (dep.workdir / f"idp.db{suffix}").unlink(missing_ok=True)
    shutil.rmtree(dep.workdir / "keys")

    # Restore = the backup file in place + the keys folder.
    shutil.copyfile(backup_file, db_path)
    shutil.copytree(dep.workdir / "backups" / "keys", dep.workdir / "keys")
    assert _audit_rows(db_path) == audit_before
    check_after_fault(dep, acknowledged_logins=1, acknowledged_tokens=[tokens["access_token"]])

    restored = dep.server().start()
    servers.append(restored)
    assert requests.get(restored.url + "/jwks.json", timeout=30).json() == jwks
    userinfo = requests.get(restored.url + "/userinfo", timeout=30,
                            headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert userinfo.status_code == 200  # the signing keys and the token family survived
    refreshed = requests.post(restored.url + "/token", auth=(dep.client_id, dep.secret),
                              data={"grant_type": "refresh_token",
                                    "refresh_token": tokens["refresh_token"]}, timeout=30)
    assert refreshed.status_code == 200, refreshed.text  # the client secret still verifies
    _, code, verifier = login_for_code(restored.url, dep.client_id)  # the person can log in
    assert exchange(restored.url, dep.client_id, dep.secret, code, verifier).status_code == 200
    restored.stop()
    check_after_fault(dep, acknowledged_logins=2)


def _counts(engine) -> dict:
    from sqlalchemy import text

    with engine.connect() as conn:
        return {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
                for table in ("users", "clients", "signing_keys", "audit_events", "token_grants")}


def test_pg_dump_backup_restores_into_an_empty_database(pg_deployment, servers):
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    dep = pg_deployment
    server = dep.server().start()
    servers.append(server)
    _, code, verifier = login_for_code(server.url, dep.client_id)
    tokens = exchange(server.url, dep.client_id, dep.secret, code, verifier).json()
    jwks = requests.get(server.url + "/jwks.json", timeout=30).json()
    dump = dep.workdir / "idp.dump"
    done = run_cli(dep.env, dep.workdir, "backup", "--output", str(dump))
    assert done.returncode == 0, done.stderr
    server.stop()
    before = _counts(dep.engine())

    url = make_url(dep.database_url)
    fresh = f"idp_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{fresh}"'))
    target = url.set(database=fresh)
    try:
        libpq = target.set(drivername="postgresql").render_as_string(hide_password=False)
        restore = subprocess.run(["pg_restore", "--no-owner", f"--dbname={libpq}", str(dump)],
                                 capture_output=True, text=True, timeout=120)
        assert restore.returncode == 0, restore.stderr
        engine = create_engine(target)
        assert _counts(engine) == before
        engine.dispose()
        restored_url = target.render_as_string(hide_password=False)
        restored = IdpServer(dep.workdir, {**dep.env, "IDP_DATABASE_URL": restored_url}).start()
        servers.append(restored)
        assert requests.get(restored.url + "/jwks.json", timeout=30).json() == jwks
        assert requests.get(restored.url + "/userinfo", timeout=30, headers={
            "Authorization": "Bearer " + tokens["access_token"]}).status_code == 200
        _, code, verifier = login_for_code(restored.url, dep.client_id)
        assert exchange(restored.url, dep.client_id, dep.secret, code, verifier).status_code == 200
        restored.stop()
        from tests.production.invariants import _verify_audit_chain

        _verify_audit_chain(type(dep)(dep.workdir, dep.env, restored_url, dep.client_id,
                                      dep.secret, dep.user_id))
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": fresh})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}"'))
        admin.dispose()
