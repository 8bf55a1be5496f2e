"""`idp keys rotate` never activates a key a relying party caching the JWKS has not seen."""

from __future__ import annotations

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import text

from tests.factories import make_client
from tests.production.servers import run_cli, wait_for

pytestmark = pytest.mark.slow


def _token_kid(server, client_id: str, secret: str) -> str:
    response = requests.post(server.url + "/token", data={"grant_type": "client_credentials"},
                             auth=(client_id, secret), timeout=30)
    assert response.status_code == 200, response.text
    return jwt.decode(response.json()["access_token"],
                      KeySet.import_key_set(requests.get(server.url + "/jwks.json",
                                                         timeout=30).json())).header["kid"]


def _published_long_ago(dep, seconds: int) -> None:
    """The clock moved on: the next keys have been in the JWKS for `seconds`."""
    engine = dep.engine()
    with engine.begin() as conn:
        conn.execute(text("UPDATE signing_keys SET created_at = datetime('now', :ago) "
                          "WHERE status = 'next'"), {"ago": f"-{seconds} seconds"})
    engine.dispose()


def test_double_rotation_is_refused_until_relying_parties_have_seen_the_key(
        sqlite_deployment, servers):
    from idp import create_app

    dep = sqlite_deployment
    app = create_app({"database_url": dep.database_url, "keys_dir": str(dep.workdir / "keys"),
                      "issuer": dep.env["IDP_ISSUER"], "testing": True})
    client_id, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    server = dep.server(workers=1).start()
    servers.append(server)
    jwks = requests.get(server.url + "/jwks.json", timeout=30)
    assert jwks.headers["Cache-Control"] == "public, max-age=300"
    rp_cache = {key["kid"] for key in jwks.json()["keys"]}  # what a relying party keeps
    first_kid = _token_kid(server, client_id, secret)

    # Right after deployment the next key is brand new: refused, nothing changes.
    refused = run_cli(dep.env, dep.workdir, "keys", "rotate")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: The next ") and "--force" in refused.stderr

    _published_long_ago(dep, 306)
    done = run_cli(dep.env, dep.workdir, "keys", "rotate")
    assert done.returncode == 0, done.stderr
    second_kid = wait_for(lambda: (kid := _token_kid(server, client_id, secret)) != first_kid
                          and kid, 15, "the promoted key to sign")
    assert second_kid in rp_cache  # the relying party verifies it without refetching

    # Twice within the JWKS lifetime: the fresh next key is unknown to the cache.
    again = run_cli(dep.env, dep.workdir, "keys", "rotate")
    assert again.returncode == 1 and "Rotate again in" in again.stderr, again.stderr
    assert _token_kid(server, client_id, secret) == second_kid

    # The emergency path exists, and says what it costs.
    forced = run_cli(dep.env, dep.workdir, "keys", "rotate", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "warning: forced rotation" in forced.stderr
    third_kid = wait_for(lambda: (kid := _token_kid(server, client_id, secret)) != second_kid
                         and kid, 15, "the forced key to sign")
    assert third_kid not in rp_cache
    listed = run_cli(dep.env, dep.workdir, "keys", "list").stdout
    assert third_kid in listed
