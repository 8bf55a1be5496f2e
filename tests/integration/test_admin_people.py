"""People in the console: add by invitation mail or temporary password, send a reset or a
verification mail, the person page (lock, factors, devices), list totals that keep filters."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.account_support import MailLog
from tests.factories import csrf_from
from tests.integration.admin_support import browser_login, make_person
from tests.mfa_flow import password_step

NEW_PASSWORD = "Fresh-Chosen-Secret-42"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def client(app):
    return app.test_client()


def _admin(app, client):
    make_person(app, "root", roles=["superadmin"])
    browser_login(client, "root")


def _add(client, **fields):
    form = client.get("/admin/users/new").get_data(as_text=True)
    return client.post("/admin/users", data={"csrf_token": csrf_from(form), **fields})


def _set_password(app, link: str):
    person = app.test_client()
    page = person.get(link).get_data(as_text=True)
    return person.post(link, data={"csrf_token": csrf_from(page), "password": NEW_PASSWORD,
                                   "confirm": NEW_PASSWORD})


def test_invited_person_sets_a_password_from_the_mail(app, client):
    mail = MailLog(app)
    _admin(app, client)
    added = _add(client, email="nina@example.com", name="Nina", onboarding="invite")
    assert added.status_code == 302
    page = client.get(added.location).get_data(as_text=True)
    assert "an invitation went to nina@example.com" in page and "Temporary password" not in page
    to, subject, _ = mail.wait()[-1]
    assert to == "nina@example.com" and subject == "Your new account: choose a password"
    link = mail.link("/password/reset/")
    assert _set_password(app, link).status_code == 200
    assert app.test_client().get(link).status_code == 400  # one-time
    assert password_step(app.test_client(), "nina", NEW_PASSWORD).status_code == 302
    uid = added.location.rsplit("/", 1)[-1]
    shown = client.get(f"/api/v1/users/{uid}").get_json()
    assert shown["email_verified"] is True
    events = client.get(f"/api/v1/audit?user={uid}&type=user.invited").get_json()["items"]
    assert len(events) == 1


def test_temporary_password_shown_once_and_must_be_changed(app, client):
    _admin(app, client)
    added = _add(client, email="tom@example.com", onboarding="temporary")
    assert added.status_code == 302 and "Tmp-" not in added.get_data(as_text=True)
    page = client.get(added.location).get_data(as_text=True)
    temporary = re.search(r'id="temporary-value">(Tmp-[^<]+)<', page).group(1)
    assert temporary not in client.get(added.location).get_data(as_text=True)  # reload
    assert len(client.get("/api/v1/users?q=tom").get_json()["items"]) == 1
    person = app.test_client()
    signed = password_step(person, "tom", temporary)
    assert signed.status_code == 302 and "/login/password" in signed.location


def test_add_person_error_keeps_the_input(app, client):
    _admin(app, client)
    refused = _add(client, email="not-an-address", username="ursula", name="Ursula",
                   onboarding="invite")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'aria-invalid="true"' in html
    assert 'value="not-an-address"' in html and 'value="ursula"' in html
    make_person(app, "vera")
    taken = _add(client, email="vera@example.com", onboarding="temporary")
    assert taken.status_code == 409 and "already taken" in taken.get_data(as_text=True)
    assert 'value="temporary" checked' in taken.get_data(as_text=True)


def test_send_reset_and_resend_verification(app, client):
    mail = MailLog(app)
    _admin(app, client)
    uid = make_person(app, "walt")
    page = client.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert "Resend verification" in page and "Send reset mail" in page
    confirm = client.get(f"/admin/users/{uid}/resend-verification").get_data(as_text=True)
    client.post(f"/admin/users/{uid}/resend-verification",
                data={"csrf_token": csrf_from(confirm)})
    assert app.test_client().get(mail.link("/verify-email/")).status_code == 200
    shown = client.get(f"/api/v1/users/{uid}").get_json()
    assert shown["email_verified"] is True
    again = client.post(f"/admin/users/{uid}/resend-verification",
                        data={"csrf_token": csrf_from(confirm)})
    assert again.status_code == 422 and "verified already" in again.get_data(as_text=True)
    confirm = client.get(f"/admin/users/{uid}/send-reset").get_data(as_text=True)
    assert "Send a password reset?" in confirm
    sent = client.post(f"/admin/users/{uid}/send-reset", data={"csrf_token": csrf_from(confirm)})
    assert sent.status_code == 302
    assert "Mail sent to walt@example.com" in client.get(sent.location).get_data(as_text=True)
    assert _set_password(app, mail.link("/password/reset/")).status_code == 200


def test_person_page_shows_lock_factors_and_devices(app, client):
    from idp.extensions import db
    from idp.models.accounts import User
    from idp.models.base import utcnow

    _admin(app, client)
    uid = make_person(app, "xena")
    person = app.test_client()
    person.environ_base["HTTP_USER_AGENT"] = FIREFOX
    browser_login(person, "xena")
    with app.app_context():
        row = db.session.get(User, __import__("uuid").UUID(uid))
        row.locked_at, row.locked_until = utcnow(), utcnow() + timedelta(minutes=30)
        until = row.locked_until.isoformat()[:16].replace("T", " ")
        db.session.commit()
    page = client.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert f"locked until {until} UTC" in page
    factors = page.split('id="factors"')[1].split("</table>")[0]
    assert "Authenticator app" in factors and "Backup codes" in factors
    sessions = page.split('id="sessions"')[1].split("</table>")[0]
    assert "Firefox on Linux" in sessions and f'title="{FIREFOX}"' in sessions


def test_people_list_total_keeps_filters(app, client):
    _admin(app, client)
    for name in ("yuri", "yann", "zoe"):
        make_person(app, name)
    everyone = client.get("/admin/users").get_data(as_text=True)
    count = len(client.get("/api/v1/users").get_json()["items"])
    assert re.search(rf'id="total">{count} people\.', everyone)
    some = client.get("/admin/users?q=y").get_data(as_text=True)
    assert re.search(r'id="total">2 people match these filters', some)


def test_audit_log_shows_usernames_and_readable_event_names(app, client):
    _admin(app, client)
    uid = make_person(app, "abe")
    confirm = client.get(f"/admin/users/{uid}/disable").get_data(as_text=True)
    client.post(f"/admin/users/{uid}/disable", data={"csrf_token": csrf_from(confirm)})
    html = client.get("/admin/audit?type=user.disabled").get_data(as_text=True)
    row = html.split('data-type="user.disabled"')[1].split("</tr>")[0]
    assert '<abbr title="user.disabled" data-code="user.disabled">User disabled</abbr>' in row
    assert ">root</td>" in row and f'title="{uid}">abe</a>' in row
    assert 'aria-current="page">Audit log</a>' in html


def test_mail_an_admin_sends_is_in_the_persons_language_and_branding(app, client):
    """The console is English; the reset mail it sends a French speaker is French, with the
    tenant's HTML part and sender."""
    from idp.extensions import db
    from idp.models.accounts import User
    from idp.tenancy.tenants import ensure_default_tenant

    mail = MailLog(app)
    _admin(app, client)
    uid = make_person(app, "flore")
    with app.app_context():
        db.session.get(User, __import__("uuid").UUID(uid)).locale = "fr-CA"
        tenant = ensure_default_tenant(db.session)
        tenant.settings = {**(tenant.settings or {}), "branding": {
            "display_name": "Acme", "mail_from_address": "it@acme.example"}}
        db.session.commit()
    confirm = client.get(f"/admin/users/{uid}/send-reset").get_data(as_text=True)
    assert "Send a password reset?" in confirm  # the console itself stays English
    client.post(f"/admin/users/{uid}/send-reset", data={"csrf_token": csrf_from(confirm)})
    mail.wait(2)  # the admin's own sign-in with a backup code was mailed first
    n = next(i for i, (to, _, _) in enumerate(mail.sent) if to == "flore@example.com")
    assert "mot de passe" in mail.sent[n][1].lower()
    assert mail.senders[n] == "Acme <it@acme.example>"
    assert '<html lang="fr">' in mail.html[n] and "Acme" in mail.html[n]
