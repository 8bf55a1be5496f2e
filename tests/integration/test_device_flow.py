"""Device authorization grant (RFC 8628) over HTTP: the device's requests, the person's page,
and every polling answer of section 3.5."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import PASSWORD, csrf_from, make_client, make_user

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _device_client(app):
    return make_client(app, public=True, grant_types=[GRANT, "refresh_token"],
                       redirect_uris=[])[0]


def _start(client, cid, scope="openid profile"):
    response = client.post("/device_authorization", data={"client_id": cid, "scope": scope})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _poll(client, cid, device_code):
    return client.post("/token", data={"grant_type": GRANT, "device_code": device_code,
                                       "client_id": cid})


def _sign_in(client):
    page = client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                           "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302


def _decide(client, user_code, decision):
    page = client.get("/device", query_string={"user_code": user_code})
    token = csrf_from(page.get_data(as_text=True))
    confirm = client.post("/device", data={"user_code": user_code, "csrf_token": token})
    assert confirm.status_code == 200 and b"Allow Test RP?" in confirm.data
    done = client.post("/device", data={"user_code": user_code, "decision": decision,
                                        "csrf_token": csrf_from(confirm.get_data(as_text=True))})
    assert done.status_code == 200
    return done


def _age_last_poll(app):
    from idp.extensions import db
    from idp.models.oauth import DeviceAuthorization

    with app.app_context():
        for row in db.session.query(DeviceAuthorization):
            if row.last_polled_at:
                row.last_polled_at -= timedelta(seconds=10)
        db.session.commit()


def test_device_flow_pending_slow_down_then_tokens(app, client):
    make_user(app)
    cid = _device_client(app)
    started = _start(client, cid)
    code = started["user_code"]
    assert len(code) == 9 and code[4] == "-"
    assert set(code.replace("-", "")) <= set("BCDFGHJKLMNPQRSTVWXZ")
    assert started["verification_uri"] == "http://localhost/device"
    assert started["verification_uri_complete"].endswith(f"user_code={code}")
    assert started["expires_in"] == 600 and started["interval"] == 5

    assert _poll(client, cid, started["device_code"]).get_json()["error"] == \
        "authorization_pending"
    assert _poll(client, cid, started["device_code"]).get_json()["error"] == "slow_down"
    _sign_in(client)
    done = _decide(client, code.lower().replace("-", " "), "approve")
    assert b"Device connected" in done.data
    _age_last_poll(app)
    tokens = _poll(client, cid, started["device_code"])
    assert tokens.status_code == 200, tokens.get_json()
    body = tokens.get_json()
    assert body["access_token"] and body["id_token"] and body["refresh_token"]
    _age_last_poll(app)
    again = _poll(client, cid, started["device_code"])
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_denied_request_answers_access_denied(app, client):
    make_user(app)
    cid = _device_client(app)
    started = _start(client, cid)
    _sign_in(client)
    assert b"Request denied" in _decide(client, started["user_code"], "deny").data
    assert _poll(client, cid, started["device_code"]).get_json()["error"] == "access_denied"


def test_expired_device_code(app, client):
    from idp.extensions import db
    from idp.models.oauth import DeviceAuthorization

    make_user(app)
    cid = _device_client(app)
    started = _start(client, cid)
    with app.app_context():
        row = db.session.query(DeviceAuthorization).one()
        row.expires_at = row.created_at - timedelta(seconds=1)
        db.session.commit()
    assert _poll(client, cid, started["device_code"]).get_json()["error"] == "expired_token"
    _sign_in(client)
    page = client.get("/device")
    wrong = client.post("/device", data={"user_code": started["user_code"],
                                         "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert wrong.status_code == 400 and b"not valid" in wrong.data


def test_device_page_needs_a_signed_in_person_and_a_real_code(app, client):
    make_user(app)
    assert b"Sign in first" in client.get("/device").data
    _sign_in(client)
    page = client.get("/device")
    wrong = client.post("/device", data={"user_code": "BCDF-GHJK",
                                         "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert wrong.status_code == 400
    no_csrf = client.post("/device", data={"user_code": "BCDF-GHJK"})
    assert no_csrf.status_code == 400


def test_device_code_belongs_to_its_client_and_grant_type_is_checked(app, client):
    make_user(app)
    cid = _device_client(app)
    other = _device_client(app)
    started = _start(client, cid)
    stolen = _poll(client, other, started["device_code"])
    assert stolen.status_code in (400, 401) and stolen.get_json()["error"] == "unauthorized_client"
    plain, _ = make_client(app, public=True)
    refused = client.post("/device_authorization", data={"client_id": plain})
    assert refused.status_code == 400 and refused.get_json()["error"] == "unauthorized_client"


def test_discovery_advertises_the_device_endpoint(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["device_authorization_endpoint"] == "http://localhost/device_authorization"
    assert GRANT in meta["grant_types_supported"]


@pytest.mark.parametrize("config_overrides", [{"device_code_ttl": 120}], indirect=True)
def test_device_code_ttl_is_configurable(app, client):
    assert _start(client, _device_client(app))["expires_in"] == 120


@pytest.fixture
def config_overrides(config_overrides, request):
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides
