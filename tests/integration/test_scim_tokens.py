"""Long-lived SCIM tokens for directories that store a static bearer token (Entra ID
"Secret Token", Okta "HTTP Header"): issued by the CLI or the admin API, shown once, stored
hashed, audited, expiring, revocable, and standing for their client exactly as its access
token does (own tenant only, the rank rule)."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select, text

from idp.audit import EventType
from idp.cli import main
from idp.extensions import db
from idp.models.base import utcnow
from idp.models.oauth import Client, ScimToken
from tests.account_support import events
from tests.integration.admin_support import bearer, make_person, make_tenant, service_client
from tests.integration.scim_support import SCIM, new_user, scim_client

USERS = "/scim/v2/Users"


def cli(app, *args) -> tuple[int, str]:
    cfg = app.extensions["idp"].config
    env = {"IDP_DATABASE_URL": cfg.database_url, "IDP_KEYS_DIR": cfg.keys_dir,
           "IDP_ISSUER": cfg.issuer}
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def headers(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": SCIM}


def issue(app, client_id: str, *extra) -> dict:
    code, output = cli(app, "clients", "scim-token", "issue", client_id, "--json", *extra)
    assert code == 0, output
    return json.loads(output)


def test_cli_token_provisions_and_is_stored_hashed_and_audited(app, client):
    cid, _ = scim_client(app)
    issued = issue(app, cid, "--days", "30")
    token = issued["scim_token"]
    assert token.startswith("idp_scim_") and len(token) > 40
    made = client.post(USERS, json=new_user("entra"), headers=headers(token))
    assert made.status_code == 201, made.get_data(as_text=True)
    assert events(app, EventType.USER_CREATED)[-1].actor_id == f"client:{cid}"
    with app.app_context():
        row = db.session.execute(select(ScimToken)).scalar_one()
        assert row.digest != token and token not in json.dumps(
            [str(v) for v in db.session.execute(text("SELECT * FROM scim_tokens")).one()])
        assert timedelta(days=29) < row.expires_at - row.created_at <= timedelta(days=30)
        assert row.last_used_at is not None
    [audited] = events(app, EventType.CLIENT_SCIM_TOKEN_ISSUED)
    assert audited.client_id == cid and audited.details["token_id"] == issued["id"]
    assert token not in json.dumps(audited.details)
    code, listed = cli(app, "clients", "scim-token", "list", cid, "--json")
    assert code == 0 and token not in listed
    assert [t["id"] for t in json.loads(listed)] == [issued["id"]]


def test_revoked_expired_or_client_gone_means_401(app, client):
    cid, _ = scim_client(app)
    first, second, third = (issue(app, cid)["scim_token"] for _ in range(3))
    for token in (first, second, third):
        assert client.get(USERS, headers=headers(token)).status_code == 200
    token_id = json.loads(cli(app, "clients", "scim-token", "list", cid, "--json")[1])[0]["id"]
    code, output = cli(app, "clients", "scim-token", "revoke", cid, token_id)
    assert code == 0, output
    refused = client.get(USERS, headers=headers(first))
    assert refused.status_code == 401
    assert refused.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert events(app, EventType.CLIENT_SCIM_TOKEN_REVOKED)[-1].details["token_id"] == token_id
    with app.app_context():
        row = db.session.execute(select(ScimToken).order_by(ScimToken.created_at)).scalars().all()[1]
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get(USERS, headers=headers(second)).status_code == 401
    assert client.get(USERS, headers=headers(third)).status_code == 200
    assert cli(app, "clients", "revoke", cid)[0] == 0
    assert client.get(USERS, headers=headers(third)).status_code == 401
    code, output = cli(app, "clients", "scim-token", "issue", cid)
    assert code != 0 and "revoked" in output
    assert client.get(USERS, headers=headers("idp_scim_" + "x" * 43)).status_code == 401


def test_a_token_needs_a_client_allowed_idp_scim_and_a_sane_lifetime(app, client):
    cid, _ = service_client(app, ["tenant_admin"])  # scopes: none
    code, output = cli(app, "clients", "scim-token", "issue", cid)
    assert code != 0 and "idp:scim" in output and "Traceback" not in output
    scim_id, _ = scim_client(app)
    for days in ("0", "731", "abc"):
        code, output = cli(app, "clients", "scim-token", "issue", scim_id, "--days", days)
        assert code != 0 and "Traceback" not in output, output
    assert cli(app, "clients", "scim-token", "issue", "nope")[0] != 0
    # a token stops working once its client is no longer allowed the scope
    token = issue(app, scim_id)["scim_token"]
    with app.app_context():
        db.session.get(Client, scim_id).scopes = ["idp:admin"]
        db.session.commit()
    assert client.get(USERS, headers=headers(token)).status_code == 401


def test_admin_api_issues_lists_and_revokes_under_the_rank_rule(app, client):
    admin = bearer(client, app, roles=("superadmin",))
    cid, _ = scim_client(app)
    bad = client.post(f"/api/v1/clients/{cid}/scim-tokens", json={"days": 0}, headers=admin)
    assert bad.status_code == 422 and bad.get_json()["field"] == "days"
    made = client.post(f"/api/v1/clients/{cid}/scim-tokens", json={"days": 7}, headers=admin)
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert body["scim_token"].startswith("idp_scim_") and body["client_id"] == cid
    listed = client.get(f"/api/v1/clients/{cid}/scim-tokens", headers=admin).get_json()
    assert [t["id"] for t in listed["items"]] == [body["id"]]
    assert "scim_token" not in listed["items"][0]
    assert listed["items"][0]["hint"] == "…" + body["scim_token"][-4:]
    assert client.get(USERS, headers=headers(body["scim_token"])).status_code == 200
    gone = client.delete(f"/api/v1/clients/{cid}/scim-tokens/{body['id']}", headers=admin)
    assert gone.status_code == 204
    assert client.get(USERS, headers=headers(body["scim_token"])).status_code == 401
    assert client.delete(f"/api/v1/clients/{cid}/scim-tokens/not-an-id",
                         headers=admin).status_code == 404
    # a tenant admin cannot mint a token for a client holding rights it lacks
    boss_client, _ = scim_client(app, roles=("superadmin",))
    tenant_admin = bearer(client, app, roles=("tenant_admin",))
    refused = client.post(f"/api/v1/clients/{boss_client}/scim-tokens", json={},
                          headers=tenant_admin)
    assert refused.status_code == 403
    assert events(app, EventType.AUTHZ_DENIED)[-1].details["permission"] == "clients:write"
    # nor another tenant's client
    make_tenant(app, "globex")
    theirs, _ = scim_client(app, tenant="globex")
    assert client.post(f"/api/v1/clients/{theirs}/scim-tokens", json={},
                       headers=tenant_admin).status_code == 404


def test_a_token_is_confined_to_its_tenant_and_rank(app, client):
    make_tenant(app, "acme")
    make_tenant(app, "globex")
    boss = make_person(app, "boss", roles=["superadmin"])
    acme = headers(issue(app, scim_client(app, tenant="acme")[0])["scim_token"])
    globex = headers(issue(app, scim_client(app, tenant="globex")[0])["scim_token"])
    default = headers(issue(app, scim_client(app)[0])["scim_token"])
    theirs = client.post(USERS, json=new_user("wile"), headers=globex).get_json()
    assert client.get(f"{USERS}/{theirs['id']}", headers=acme).status_code == 404
    assert client.get(USERS, headers=acme).get_json()["totalResults"] == 0
    assert client.get(f"{USERS}/{boss}", headers=default).status_code == 403
    # a SCIM token is for SCIM only: the admin API refuses it
    assert client.get("/api/v1/users", headers=default).status_code == 401


def test_the_console_issues_shows_once_and_revokes(app, client):
    import re

    from tests.integration.admin_support import browser_login

    make_person(app, "boss", roles=["superadmin"])
    csrf = browser_login(client, "boss")
    cid, _ = scim_client(app)
    page = client.get(f"/admin/clients/{cid}").get_data(as_text=True)
    assert "SCIM tokens" in page and "Issue a SCIM token" in page
    bad = client.post(f"/admin/clients/{cid}/scim-tokens", data={"csrf_token": csrf,
                                                                 "days": "9999"})
    assert bad.status_code == 422 and "days must be a whole number" in bad.get_data(as_text=True)
    made = client.post(f"/admin/clients/{cid}/scim-tokens", data={"csrf_token": csrf,
                                                                  "days": "30"})
    assert made.status_code == 302 and "idp_scim_" not in made.get_data(as_text=True)
    shown = client.get(made.headers["Location"]).get_data(as_text=True)
    token = re.search(r'id="scim-token-value">(idp_scim_[\w-]+)<', shown).group(1)
    assert token not in client.get(f"/admin/clients/{cid}").get_data(as_text=True)
    assert client.get(USERS, headers=headers(token)).status_code == 200
    token_id = client.get(f"/api/v1/clients/{cid}/scim-tokens").get_json()["items"][0]["id"]
    revoked = client.post(f"/admin/clients/{cid}/scim-tokens/{token_id}/revoke",
                          data={"csrf_token": csrf})
    assert revoked.status_code == 302
    assert client.get(USERS, headers=headers(token)).status_code == 401
