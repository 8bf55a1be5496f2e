"""The `idp` command line, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.fixture
def idp_env(tmp_path):
    env = {**os.environ, "IDP_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
           "IDP_KEYS_DIR": str(tmp_path / "keys")}
    env.pop("IDP_BOOTSTRAP_ADMIN_PASSWORD", None)
    return env


def idp(env, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "idp.cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_first_upgrade_prints_one_time_admin_password_once(idp_env):
    first = idp(idp_env, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "One-time password (shown only now):" in first.stdout
    second = idp(idp_env, "db", "upgrade")
    assert second.returncode == 0 and "One-time password" not in second.stdout


def test_users_and_clients_commands(idp_env):
    assert idp(idp_env, "db", "upgrade").returncode == 0
    created = idp(idp_env, "users", "create", "--email", "Dana@Example.com", "--username", "dana",
                  "--password-stdin", "--json", stdin="S3cure-Password!\n")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["email"] == "Dana@example.com"
    dup = idp(idp_env, "users", "create", "--email", "dana@EXAMPLE.com")
    assert dup.returncode != 0 and dup.stderr.count("\n") == 1 and "Traceback" not in dup.stderr
    client = idp(idp_env, "clients", "create", "--name", "svc", "--grant-type",
                 "client_credentials", "--scope", "api:read", "--json")
    body = json.loads(client.stdout)
    assert body["client_secret"].startswith("idp_sk_")
    rotated = idp(idp_env, "clients", "secret", "rotate", body["client_id"], "--grace", "60",
                  "--json")
    assert json.loads(rotated.stdout)["client_secret"] != body["client_secret"]
    assert idp(idp_env, "clients", "revoke", body["client_id"]).returncode == 0
    keys = idp(idp_env, "keys", "list")
    assert keys.stdout.count("active") == 2 and keys.stdout.count("next") == 2
    refused = idp(idp_env, "keys", "rotate")  # the next keys are seconds old
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert idp(idp_env, "keys", "rotate", "--force").returncode == 0
    assert idp(idp_env, "keys", "list").stdout.count("retired") == 2


def test_bad_configuration_stops_with_one_line_naming_the_variable(idp_env):
    result = idp({**idp_env, "IDP_ACCESS_TOKEN_TTL": "ten"}, "keys", "list")
    assert result.returncode != 0 and "IDP_ACCESS_TOKEN_TTL" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_client_input_is_one_clear_line(idp_env):
    idp(idp_env, "db", "upgrade")
    result = idp(idp_env, "clients", "create", "--name", "x", "--redirect-uri",
                 "http://evil.example.com/cb")
    assert result.returncode != 0 and "loopback" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_client_registration_uses_the_outbound_guard(idp_env):
    idp(idp_env, "db", "upgrade")
    args = ("clients", "create", "--name", "x", "--grant-type", "client_credentials",
            "--auth-method", "private_key_jwt", "--jwks-uri", "http://127.0.0.1:9/jwks")
    refused = idp(idp_env, *args)
    assert refused.returncode != 0 and "IDP_OUTBOUND_ALLOW" in refused.stderr
    allowed = idp({**idp_env, "IDP_OUTBOUND_ALLOW": "127.0.0.1/32"}, *args)
    assert allowed.returncode == 0, allowed.stderr


def test_cli_redirect_uri_rules_match_the_api(idp_env):
    idp(idp_env, "db", "upgrade")
    for bad in ("https://*.example.com/cb", "https://u@rp.example.com/cb", "myapp:/cb",
                "https://rp.example.com/cb#x"):
        result = idp(idp_env, "clients", "create", "--name", "x", "--redirect-uri", bad)
        assert result.returncode != 0 and "Traceback" not in result.stderr, bad
    good = idp(idp_env, "clients", "create", "--name", "x", "--public", "--redirect-uri",
               "com.example.app:/cb", "--json")
    assert good.returncode == 0, good.stderr


def test_cli_user_creation_applies_the_tenant_password_policy(idp_env):
    assert idp(idp_env, "db", "upgrade").returncode == 0
    for weak in ("password", "Sh0rt!A", "Erin-Password-1!"):  # common, short, has the name
        refused = idp(idp_env, "users", "create", "--email", "erin@example.com", "--username",
                      "erin", "--password-stdin", stdin=weak + "\n")
        assert refused.returncode != 0 and "Traceback" not in refused.stderr, weak
        assert refused.stderr.count("\n") == 1, refused.stderr
    generated = idp(idp_env, "users", "create", "--email", "erin@example.com", "--json")
    assert generated.returncode == 0, generated.stderr
    assert len(json.loads(generated.stdout)["password"]) >= 20


def test_weak_bootstrap_admin_password_stops_start_up(idp_env):
    result = idp({**idp_env, "IDP_BOOTSTRAP_ADMIN_PASSWORD": "password"}, "db", "upgrade")
    assert result.returncode != 0 and "IDP_BOOTSTRAP_ADMIN_PASSWORD" in result.stderr
    assert "Traceback" not in result.stderr
    good = idp({**idp_env, "IDP_BOOTSTRAP_ADMIN_PASSWORD": "Sturdy-Operator-Key-8!"}, "db",
               "upgrade")
    assert good.returncode == 0, good.stderr


def test_client_lifetimes_from_the_cli_are_bounded_by_the_server(idp_env):
    idp(idp_env, "db", "upgrade")
    refused = idp(idp_env, "clients", "create", "--name", "svc", "--grant-type",
                  "client_credentials", "--access-token-ttl", "99999")
    assert refused.returncode != 0 and "from 60 to 600 seconds" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    made = idp(idp_env, "clients", "create", "--name", "web", "--redirect-uri",
               "https://rp.example.com/cb", "--access-token-ttl", "120", "--require-pkce",
               "--json")
    assert made.returncode == 0, made.stderr
    shown = idp(idp_env, "clients", "show", json.loads(made.stdout)["client_id"])
    assert shown.returncode == 0, shown.stderr
    described = json.loads(shown.stdout)
    assert described["access_token_ttl"] == 120 and described["require_pkce"] is True
