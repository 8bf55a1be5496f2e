"""Outbox publishing to a Redis stream; bulk import/export; the roles claim in tokens."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from tests.factories import csrf_from
from tests.integration.admin_support import bearer, make_person


@pytest.fixture
def client(app):
    """A client that keeps no request context, so admin and person clients can alternate."""
    return app.test_client()


@pytest.fixture
def redis_url(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(5)


def test_outbox_published_in_order_once_and_resumable(app, client, redis_url):
    import redis

    from idp.events.publisher import publish_pending, stream_name
    from idp.extensions import db

    uid = make_person(app, "pia")
    client.patch(f"/api/v1/users/{uid}", json={"locale": "fr"}, headers=bearer(client, app))
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    with app.app_context():
        sent = publish_pending(db.session, r, "t1")
        assert sent > 3
        assert publish_pending(db.session, r, "t1") == 0  # nothing twice
        from idp.models.outbox import OutboxEvent

        # A crash after XADD but before the commit re-sends a row: Redis refuses the copy.
        row = db.session.query(OutboxEvent).order_by(OutboxEvent.id.desc()).first()
        row.published_at = None
        db.session.commit()
        assert publish_pending(db.session, r, "t1") == 1
    entries = r.xrange(stream_name("t1"))
    assert len(entries) == sent
    ids = [int(e[1]["id"]) for e in entries]
    assert ids == sorted(ids)
    names = [e[1]["event"] for e in entries]
    assert "user.created" in names and "user.registered" not in names  # admin-made people
    assert names[-1] == "user.updated"
    payload = json.loads(entries[-1][1]["data"])
    assert payload["subject"] == uid and payload["data"] == {"fields": ["locale"]}
    # A consumer resumes after the last id it processed.
    middle = entries[1][0]
    assert [e[0] for e in r.xread({stream_name("t1"): middle})[0][1]] == \
        [e[0] for e in entries[2:]]


def test_bulk_import_dry_run_errors_idempotent_and_prehashed(app, tmp_path, config_overrides):
    from aiosmtpd.controller import Controller

    from tests.integration.test_account_mail import Inbox
    from tests.live_server import free_port

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        _bulk(app, tmp_path, config_overrides, inbox, f"smtp://127.0.0.1:{smtp.port}")
    finally:
        smtp.stop()


def _bulk(app, tmp_path, config_overrides, inbox, smtp_url):
    if "sqlite" not in config_overrides["database_url"]:
        pytest.skip("the CLI subprocess test uses the SQLite file")
    import bcrypt

    hashed = bcrypt.hashpw(b"Imported-Pass-1!", bcrypt.gensalt(rounds=4)).decode()
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "email,username,name,department,password_hash,roles\n"
        f"ann@example.com,ann,Ann A,Sales,{hashed},\n"
        "ben@example.com,ben,Ben B,Ops,,auditor\n"
        "not-an-email,bad,,,,\n"
        "cat@example.com,cat,Cat C,,$1$weird,\n")
    env = {**os.environ, "IDP_DATABASE_URL": config_overrides["database_url"],
           "IDP_KEYS_DIR": config_overrides["keys_dir"], "IDP_SMTP_URL": smtp_url}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "idp.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    dry = cli("users", "import", str(csv_file), "--dry-run", "--json")
    assert dry.returncode == 1, dry.stderr
    report = json.loads(dry.stdout)
    assert report["created"] == 2 and report["error"] == 2 and report["dry_run"]
    assert [e["row"] for e in report["errors"]] == [4, 5]
    exported = cli("users", "export", "--format", "json")
    assert "ann@example.com" not in exported.stdout  # the dry run changed nothing
    real = cli("users", "import", str(csv_file), "--invite", "--json")
    assert json.loads(real.stdout)["created"] == 2
    # Ben has no password: he is mailed an invitation; Ann brought a pre-hashed one.
    (recipients, message), = inbox.wait(1)
    assert recipients == ["ben@example.com"] and message["Subject"] == "Your new account: choose a password"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode()
             for part in message.walk() if not part.is_multipart()}
    assert "/password/reset/" in parts["text/plain"]  # then the same text as HTML
    assert "/password/reset/" in parts["text/html"]
    again = cli("users", "import", str(csv_file), "--json")
    assert json.loads(again.stdout)["unchanged"] == 2  # idempotent by email
    as_csv = cli("users", "export", "--format", "csv")
    assert as_csv.returncode == 0 and "Exporting" in as_csv.stderr
    lines = as_csv.stdout.strip().splitlines()
    assert lines[0].startswith("id,username,email") and len(lines) == 4  # admin, ann, ben
    people = json.loads(cli("users", "export", "--format", "json").stdout)
    ben = [p for p in people if p["username"] == "ben"][0]
    assert ben["roles"] == "auditor" and ben["department"] == "Ops"
    # The pre-hashed bcrypt password works once and is re-hashed to Argon2id.
    with app.test_client() as browser:
        page = browser.get("/login").get_data(as_text=True)
        r = browser.post("/login", data={"username": "ann", "password": "Imported-Pass-1!",
                                         "csrf_token": csrf_from(page)})
        assert r.status_code == 302, r.get_data(as_text=True)[-400:]
    with app.app_context():
        from idp.extensions import db
        from idp.models.accounts import User

        ann = db.session.query(User).filter_by(username="ann").one()
        assert ann.credential.hash.startswith("$argon2id$")


def test_roles_claim_when_the_client_asks(app, client):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from tests.factories import make_client
    from tests.oauth_flow import exchange, get_code

    make_person(app, "rolf", roles=["auditor"])
    cid, secret = make_client(app)
    with app.test_client() as browser:
        params, verifier = get_code(browser, cid, username="rolf", scope="openid roles")
        token = exchange(browser, cid, secret, params["code"], verifier).get_json()
    keys = KeySet.import_key_set(client.get("/jwks.json").get_json())
    access = jwt.decode(token["access_token"], keys).claims
    ident = jwt.decode(token["id_token"], keys).claims
    assert access["roles"] == ["auditor"] and ident["roles"] == ["auditor"]
    assert access["tenant"]
