"""`idp webhooks create|list|test|rotate-secret|delete` and `idp events publish --once`, run
as real processes against a receiver on loopback that checks signatures with the
`standardwebhooks` package."""

from __future__ import annotations

import json
import os

import pytest
from standardwebhooks import Webhook

from tests.integration.webhook_receiver import Receiver
from tests.test_cli import idp


@pytest.fixture
def idp_env(tmp_path):
    """The CLI's environment: its own SQLite database and key folder."""
    env = {**os.environ, "IDP_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
           "IDP_KEYS_DIR": str(tmp_path / "keys")}
    env.pop("IDP_BOOTSTRAP_ADMIN_PASSWORD", None)
    return env


def test_webhooks_commands(idp_env):
    env = {**idp_env, "IDP_OUTBOUND_ALLOW": "127.0.0.1"}
    assert idp(env, "db", "upgrade").returncode == 0
    with Receiver() as receiver:
        created = idp(env, "webhooks", "create", "--url", receiver.url("/hook"), "--event",
                      "user.*", "--json")
        assert created.returncode == 0, created.stderr
        sub = json.loads(created.stdout)
        assert set(sub) == {"id", "secret"} and sub["secret"].startswith("whsec_")
        tested = idp(env, "webhooks", "test", sub["id"])
        assert tested.returncode == 0 and "delivered: HTTP 200" in tested.stdout, tested.stderr
        made = idp(env, "users", "create", "--email", "dana@example.com", "--json")
        assert made.returncode == 0, made.stderr
        published = idp(env, "events", "publish", "--once")
        assert published.returncode == 0, published.stderr
        calls = receiver.at("/hook")
    assert [c["json"]["type"] for c in calls] == ["webhook.test", "user.created"]
    for call in calls:
        Webhook(sub["secret"]).verify(call["body"], call["headers"])
    listed = json.loads(idp(env, "webhooks", "list", "--json").stdout)
    assert [(w["id"], w["event_types"]) for w in listed] == [(sub["id"], ["user.*"])]
    rotated = idp(env, "webhooks", "rotate-secret", sub["id"], "--overlap", "60", "--json")
    assert json.loads(rotated.stdout)["secret"] != sub["secret"]
    assert idp(env, "webhooks", "enable", sub["id"]).returncode == 0  # already on: no change
    assert idp(env, "webhooks", "delete", sub["id"]).returncode == 0
    assert json.loads(idp(env, "webhooks", "list", "--json").stdout) == []


def test_webhooks_command_errors_are_one_line(idp_env):
    assert idp(idp_env, "db", "upgrade").returncode == 0
    for args in (("create", "--url", "http://10.0.0.1/x"),  # http off loopback
                 ("create", "--url", "https://127.0.0.1/x"),  # loopback not allowed
                 ("create", "--url", "https://93.184.215.14/x", "--event", "nope"),
                 ("delete", "5d0b8f7e-0000-4000-8000-000000000000"),
                 ("test", "not-an-id")):
        done = idp(idp_env, "webhooks", *args)
        assert done.returncode != 0 and done.stderr.count("\n") == 1, (args, done.stderr)
        assert "Traceback" not in done.stderr
