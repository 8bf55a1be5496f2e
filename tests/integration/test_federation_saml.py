"""Signing in with a SAML 2.0 IdP: pysaml2's IdP (tests/saml_idp.py, its own key made by
the test) answers our AuthnRequest; the browser leg is the Flask test client. A signed
assertion signs the person in through the same journey as OpenID Connect (JIT, linking,
second factor, audit); unsigned, tampered, wrapped, replayed, misaddressed, expired and
foreign-key responses are refused with a page, audited, and open no session."""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models.audit import AuditEvent
from idp.models.federation import FederatedIdentity, IdentityProvider
from tests.factories import PASSWORD, csrf_from, make_client, make_user, pkce_pair
from tests.integration.admin_support import bearer
from tests.oauth_flow import authorize_url, exchange, follow_to_client
from tests.saml_idp import ENTITY_ID, SamlIdp, encode, xmlsec_missing

pytestmark = pytest.mark.skipif(xmlsec_missing(), reason="xmlsec1 is not installed")

ACS = "http://localhost/login/external/corp/callback"
SP_ENTITY = "http://localhost/login/external/corp/metadata"


@pytest.fixture
def client(app):
    """A browser without Flask's context preservation: with a second browser in the same
    test, a preserved context would share `g` (and its cached session) between them."""
    return app.test_client()


@pytest.fixture
def idp(tmp_path):
    return SamlIdp(tmp_path)


def _add(app, client, idp, **extra) -> dict:
    """The provider through the admin API (metadata as a document), our SP metadata given
    to the IdP the way an operator would upload it."""
    created = client.post("/api/v1/providers", headers=bearer(client, app), json={
        "name": "Corp", "type": "saml", "metadata_xml": idp.metadata,
        "domains": ["corp.example"], **extra})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    metadata = client.get("/login/external/corp/metadata")
    assert metadata.status_code == 200
    assert metadata.content_type.startswith("application/samlmetadata+xml")
    idp.sp_metadata = metadata.get_data(as_text=True)
    return body


def _start(client, rid_url="/login"):
    """Our login page and its "Sign in with Corp" link; returns the redirect to the IdP."""
    html = client.get(rid_url).get_data(as_text=True)
    match = re.search(r'href="(/login/external/corp[^"]*)"', html)
    assert match and "Sign in with Corp" in html, html
    start = client.get(match.group(1).replace("&amp;", "&"))
    assert start.status_code == 302, start.get_data(as_text=True)
    return start.headers["Location"]


def _post(client, saml_response):
    return client.post("/login/external/corp/callback",
                       data={"SAMLResponse": saml_response, "RelayState": ""})


def _events(app, kind):
    with app.app_context():
        return db.session.execute(select(AuditEvent).where(AuditEvent.type == kind)
                                  .order_by(AuditEvent.at)).scalars().all()


def _refused(app, response, reason_part):
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "Sign-in failed" in response.get_data(as_text=True)
    assert "idp_session=" not in " ".join(response.headers.getlist("Set-Cookie"))
    failures = [e for e in _events(app, "auth.login") if e.outcome == "failure"]
    assert failures and reason_part in failures[-1].details["reason"], \
        failures[-1].details if failures else None
    assert failures[-1].details["provider"] == "corp"


def _claims(id_token):
    part = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_admin_api_shape_and_sp_metadata(app, client, idp):
    body = _add(app, client, idp)
    assert body["type"] == "saml" and body["issuer"] == ENTITY_ID
    assert body["redirect_uri"] == ACS and body["metadata_url"] == SP_ENTITY
    assert body["client_id"] is None and body["allow_idp_initiated"] is False
    assert f'entityID="{SP_ENTITY}"' in idp.sp_metadata
    assert f'Location="{ACS}"' in idp.sp_metadata and "HTTP-POST" in idp.sp_metadata
    assert client.get("/login/external/nobody/metadata").status_code == 404


def test_signed_assertion_signs_in_to_the_rp_and_maps_attributes(app, client, idp):
    _add(app, client, idp)
    rp_id, rp_secret = make_client(app)
    verifier, challenge = pkce_pair()
    first = client.get(authorize_url(rp_id, challenge=challenge))
    location = _start(client, first.headers["Location"])
    request = idp.request(location)
    assert request.assertion_consumer_service_url == ACS and request.issuer.text == SP_ENTITY
    back = _post(client, idp.respond(location))
    query = follow_to_client(client, back)
    token = exchange(client, rp_id, rp_secret, query["code"], verifier)
    assert token.status_code == 200, token.get_data(as_text=True)
    info = client.get("/userinfo", headers={
        "Authorization": f"Bearer {token.get_json()['access_token']}"}).get_json()
    assert info["email"] == "carol@corp.example" and info["name"] == "Carol Upstream"
    assert info["given_name"] == "Carol" and info["family_name"] == "Upstream"
    assert info["email_verified"] is False  # SAML does not say; never assumed
    logins = [e for e in _events(app, "auth.login") if e.outcome == "success"]
    assert logins[-1].details["provider"] == "corp" and logins[-1].details["amr"] == ["fed"]
    with app.app_context():
        identity = db.session.execute(select(FederatedIdentity)).scalar_one()
        assert identity.subject == "carol-0001"

    # Again, in another browser: the same person, no second account.
    other = app.test_client()
    verifier2, challenge2 = pkce_pair()
    again = other.get(authorize_url(rp_id, challenge=challenge2))
    query2 = follow_to_client(other, _post(other, idp.respond(
        _start(other, again.headers["Location"]))))
    token2 = exchange(other, rp_id, rp_secret, query2["code"], verifier2)
    assert _claims(token2.get_json()["id_token"])["sub"] == \
        _claims(token.get_json()["id_token"])["sub"]
    assert len([e for e in _events(app, "user.created")
                if e.details.get("username") == "carol"]) == 1


def test_cross_site_post_is_continued_from_our_own_page(app, client, idp):
    """A real browser leaves our SameSite=Lax cookie out of the IdP's cross-site POST: we
    answer with a page that posts the response again, from our origin, with the cookie."""
    _add(app, client, idp)
    saml_response = idp.respond(_start(client))
    cookieless = app.test_client()
    page = _post(cookieless, saml_response)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="idp_continued"' in html
    assert re.search(r'<script nonce="[^"]+">document.getElementById\("response"\)', html)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', html))
    assert fields["SAMLResponse"] == saml_response
    done = client.post("/login/external/corp/callback", data=fields)
    assert done.status_code == 302 and done.headers["Location"] == "/account"
    # Without the cookie even after the re-post, nothing was asked here: refused.
    _refused(app, cookieless.post("/login/external/corp/callback", data=fields), "unsolicited")


def test_unsigned_assertion_is_refused(app, client, idp):
    _add(app, client, idp)
    location = _start(client)
    _refused(app, _post(client, idp.respond(location, sign_assertion=False)),
             "Neither the response nor the assertions are signed")


def test_signed_response_alone_is_accepted(app, client, idp):
    _add(app, client, idp)
    back = _post(client, idp.respond(_start(client), sign_assertion=False, sign_response=True))
    assert back.status_code == 302 and back.headers["Location"] == "/account"


def test_tampered_assertion_is_refused(app, client, idp):
    _add(app, client, idp)
    location = _start(client)
    request = idp.request(location)
    xml = idp.response_xml(in_response_to=request.id, destination=ACS, audience=SP_ENTITY)
    tampered = xml.replace("carol@corp.example", "admin@corp.example")
    assert tampered != xml
    _refused(app, _post(client, encode(tampered)), "Failed to verify signature")


def test_wrong_audience_is_refused(app, client, idp):
    _add(app, client, idp)
    location = _start(client)
    _refused(app, _post(client, idp.respond(location, audience="https://other-sp.example/md")),
             "AudienceRestrictions conditions not satisfied")


def test_expired_assertion_is_refused(app, client, idp):
    _add(app, client, idp)
    location = _start(client)
    _refused(app, _post(client, idp.respond(location, lifetime_minutes=-10)), "Condition not OK")


def test_wrong_in_response_to_is_refused(app, client, idp):
    _add(app, client, idp)
    location = _start(client)
    _refused(app, _post(client, idp.respond(location, in_response_to="_not-our-request")),
             "Unsolicited response: _not-our-request")


def test_wrong_destination_is_refused(app, client, idp):
    _add(app, client, idp)
    location = _start(client)
    _refused(app, _post(client, idp.respond(
        location, destination="http://localhost/login/external/elsewhere/callback")),
             "no usable assertion")


def test_replayed_response_is_refused(app, client, idp):
    _add(app, client, idp)
    saml_response = idp.respond(_start(client))
    first = _post(client, saml_response)
    assert first.status_code == 302 and first.headers["Location"] == "/account"
    # The same response again: its request is spent, and a new one has another id.
    _start(client)
    _refused(app, _post(client, saml_response), "Unsolicited response")
    assert len([e for e in _events(app, "auth.login") if e.outcome == "success"]) == 1


def test_replayed_assertion_is_refused(app, client, idp):
    """IdP-initiated sign-in has no InResponseTo to spend: the assertion ID table is what
    stops the same response from signing in twice."""
    _add(app, client, idp, allow_idp_initiated=True)
    saml_response = encode(idp.response_xml(in_response_to=None, destination=ACS,
                                            audience=SP_ENTITY))
    first = client.post("/login/external/corp/callback",
                        data={"SAMLResponse": saml_response, "idp_continued": "1"})
    assert first.status_code == 302 and first.headers["Location"] == "/account", \
        first.get_data(as_text=True)[:300]
    again = app.test_client().post("/login/external/corp/callback",
                                   data={"SAMLResponse": saml_response, "idp_continued": "1"})
    _refused(app, again, "replayed")


def test_idp_initiated_is_refused_unless_switched_on(app, client, idp):
    _add(app, client, idp)
    saml_response = encode(idp.response_xml(in_response_to=None, destination=ACS,
                                            audience=SP_ENTITY))
    _refused(app, client.post("/login/external/corp/callback",
                              data={"SAMLResponse": saml_response, "idp_continued": "1"}),
             "unsolicited")


def test_signature_by_another_key_is_refused(app, client, idp, tmp_path):
    _add(app, client, idp)
    impostor = SamlIdp(tmp_path, name="impostor")  # same entity id, its own key
    impostor.sp_metadata = idp.sp_metadata
    location = _start(client)
    _refused(app, _post(client, impostor.respond(location)), "Failed to verify signature")


@pytest.mark.parametrize("keep_signature,reason", [
    (False, "Neither the response nor the assertions are signed"),
    (True, "Signature failed to meet constraints"),  # the reference is not its own
])
def test_signature_wrapping_is_refused(app, client, idp, keep_signature, reason):
    """XSW: the signed assertion (carol) is moved into an Extensions element, and an
    assertion for another person takes its place where the SP reads it: unsigned, or
    carrying the original signature (whose reference still points at the moved one)."""
    make_user(app, email="boss@corp.example", username="boss")
    _add(app, client, idp, link_by_verified_email=True)
    location = _start(client)
    request = idp.request(location)
    xml = idp.response_xml(in_response_to=request.id, destination=ACS, audience=SP_ENTITY)
    signed = re.search(r"<(\w+):Assertion\b.*?</\1:Assertion>", xml, re.S).group(0)
    evil = signed if keep_signature else \
        re.sub(r"<(\w+):Signature\b.*?</\1:Signature>", "", signed, flags=re.S)
    evil = evil.replace(' ID="', ' ID="evil-', 1).replace("carol-0001", "boss") \
        .replace("carol@corp.example", "boss@corp.example")
    assert evil != signed and ("Signature" in evil) == keep_signature
    protocol = re.search(r"<(\w+):Response\b", xml).group(1)
    issuer_end = re.search(r"</\w+:Issuer>", xml).group(0)
    wrapped = xml.replace(signed, evil).replace(
        issuer_end, f"{issuer_end}<{protocol}:Extensions>{signed}</{protocol}:Extensions>", 1)
    _refused(app, _post(client, encode(wrapped)), reason)
    with app.app_context():
        assert db.session.execute(select(FederatedIdentity)).scalars().all() == []


def test_existing_account_needs_proof_even_with_link_by_verified_email(app, client, idp):
    make_user(app, email="carol@corp.example", username="carol")
    _add(app, client, idp, link_by_verified_email=True)  # SAML never says "verified"
    back = _post(client, idp.respond(_start(client)))
    assert back.status_code == 302 and back.headers["Location"] == "/login/external/link"
    page = client.get("/login/external/link")
    done = client.post("/login/external/link", data={
        "password": PASSWORD, "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert done.status_code == 302 and done.headers["Location"] == "/account"
    assert len(_events(app, "user.identity.linked")) == 1


@pytest.fixture
def config_overrides(request, config_overrides):  # noqa: F811 - extends tests/conftest.py
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


@pytest.fixture
def metadata_server(idp):
    server = _serve(idp.metadata)
    yield f"http://127.0.0.1:{server.server_port}/md"
    server.shutdown()
    server.server_close()


def test_metadata_url_on_loopback_is_refused_unless_allowed(app, client, metadata_server):
    refused = client.post("/api/v1/providers", headers=bearer(client, app), json={
        "name": "Corp", "type": "saml", "metadata_url": metadata_server})
    assert refused.status_code == 422 and "IDP_OUTBOUND_ALLOW" in refused.get_json()["message"]


@pytest.mark.parametrize("config_overrides", [{"outbound_allow": "127.0.0.1/32"}],
                         indirect=True)
def test_metadata_url_is_read_and_re_read_on_edit(app, client, idp, metadata_server):
    created = client.post("/api/v1/providers", headers=bearer(client, app), json={
        "name": "Corp", "type": "saml", "metadata_url": metadata_server})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["issuer"] == ENTITY_ID and body["upstream_metadata_url"] == metadata_server
    idp.sp_metadata = client.get("/login/external/corp/metadata").get_data(as_text=True)
    back = _post(client, idp.respond(_start(client)))
    assert back.status_code == 302 and back.headers["Location"] == "/account"
    edited = client.patch("/api/v1/providers/corp", headers=bearer(client, app),
                          json={"metadata_url": metadata_server, "allow_idp_initiated": True})
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["changed"] == ["allow_idp_initiated"]


@pytest.mark.parametrize("body,field,text", [
    ({}, "metadata_url", "metadata_url or metadata_xml"),
    ({"metadata_xml": "<not-xml"}, "metadata_xml", "could not be read"),
    ({"metadata_xml": "<EntityDescriptor xmlns='urn:oasis:names:tc:SAML:2.0:metadata' "
                      "entityID='x'/>"}, "metadata_xml", "exactly one identity provider"),
    ({"metadata_url": "ftp://x"}, "metadata_url", "http(s)"),
    ({"metadata_xml": 5}, None, "must be a string"),
    ({"client_id": "x", "metadata_xml": "<x/>"}, "client_id", "no client_id"),
])
def test_bad_saml_provider_input_is_a_clear_4xx(app, client, body, field, text):
    response = client.post("/api/v1/providers", headers=bearer(client, app),
                           json={"name": "Corp", "type": "saml", **body})
    assert response.status_code in (400, 422), response.get_json()
    assert text in response.get_json()["message"]
    with app.app_context():
        assert db.session.execute(select(IdentityProvider)).scalars().all() == []


def _serve(text: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's hook name
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_console_adds_a_saml_provider_from_pasted_metadata(app, idp):
    from tests.integration.admin_support import browser_login, make_person

    browser = app.test_client()
    make_person(app, "root", roles=["superadmin"])
    browser_login(browser, "root")
    html = browser.get("/admin/providers").get_data(as_text=True)
    assert '<option value="saml">SAML 2.0</option>' in html
    made = browser.post("/admin/providers", data={
        "csrf_token": csrf_from(html), "name": "Corp", "type": "saml",
        "metadata_xml": idp.metadata, "domains": "corp.example"})
    assert made.status_code == 302, made.get_data(as_text=True)[:300]
    listed = browser.get("/admin/providers").get_data(as_text=True)
    assert f"SP metadata: <code>{SP_ENTITY}</code>" in listed and ENTITY_ID in listed
    edited = browser.post("/admin/providers/corp/edit", data={
        "csrf_token": csrf_from(listed), "name": "Corp", "domains": "corp.example",
        "allow_idp_initiated": "on"})
    assert edited.status_code == 302
    shown = browser.get("/api/v1/providers/corp").get_json()
    assert shown["allow_idp_initiated"] is True and shown["issuer"] == ENTITY_ID


def test_second_factor_and_groups_apply_to_a_saml_sign_in(app, client, idp):
    from tests.mfa_flow import code, enrol_totp, session_cookie_set, submit_code

    secret = enrol_totp(app, make_user(app))  # alice@example.com, with TOTP
    with app.app_context():
        from idp.rbac.groups import create_group
        from idp.request_context import system_context
        from idp.tenancy.tenants import ensure_default_tenant

        for name in ("engineering", "sales"):
            create_group(db.session, system_context(), ensure_default_tenant(db.session),
                         {"name": name})
        db.session.commit()
    _add(app, client, idp, groups=["engineering", "sales"])
    alice = {"mail": ["alice@example.com"], "groups": ["engineering", "other"]}
    back = _post(client, idp.respond(_start(client), subject="alice-1", attributes=alice))
    assert back.headers["Location"] == "/login/external/link"
    page = client.get("/login/external/link")
    proved = client.post("/login/external/link", data={
        "password": PASSWORD, "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert proved.status_code == 302 and proved.headers["Location"] == "/login/mfa"
    assert submit_code(client, code(secret)).status_code == 302
    assert len(_events(app, "user.identity.linked")) == 1

    # Linked now: the next SAML sign-in still asks for the second factor first.
    other = app.test_client()
    again = _post(other, idp.respond(_start(other), subject="alice-1", attributes=alice))
    assert again.status_code == 302 and again.headers["Location"] == "/login/mfa"
    assert not session_cookie_set(again)
    added = [e.details for e in _events(app, "group.member.added")]
    assert [d.get("group") or d.get("name") for d in added] == ["engineering"], added
