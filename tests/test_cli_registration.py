"""`idp clients initial-access-token`, run as a real process."""

from __future__ import annotations

import json

from tests.test_cli import idp, idp_env  # noqa: F401 - the fixture


def test_initial_access_token_printed_once_as_json(idp_env):  # noqa: F811
    assert idp(idp_env, "db", "upgrade").returncode == 0
    made = idp(idp_env, "clients", "initial-access-token", "--uses", "3", "--expires-in", "600",
               "--grant-type", "authorization_code", "--redirect-uri-prefix",
               "https://app.example.com/", "--scope", "openid profile", "--json")
    assert made.returncode == 0, made.stderr
    out = json.loads(made.stdout)
    assert out["initial_access_token"].startswith("idp_iat_") and out["max_uses"] == 3
    plain = idp(idp_env, "clients", "initial-access-token")
    assert plain.returncode == 0 and "(shown only now)" in plain.stdout


def test_bad_policy_fails_with_one_line(idp_env):  # noqa: F811
    assert idp(idp_env, "db", "upgrade").returncode == 0
    for args in (["--uses", "-1"], ["--grant-type", "implicit"], ["--scope", "idp:admin"],
                 ["--redirect-uri-prefix", "http://evil.test/"], ["--tenant", "nope"]):
        refused = idp(idp_env, "clients", "initial-access-token", *args)
        assert refused.returncode == 1, args
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr, args
