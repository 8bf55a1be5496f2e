"""Hosted pages and mails in the person's language (issue 16; SPEC "Languages and
branding"): `ui_locales` on /authorize, then the signed-in person's locale, then
Accept-Language, then English; `<html lang>` names the language used."""

from __future__ import annotations

import html as markup
import re
import uuid

import pytest

from idp.extensions import db
from idp.models.accounts import User
from tests.account_support import MailLog, post_form, sign_in
from tests.factories import make_client, make_user
from tests.oauth_flow import authorize_url

# What a person sees on the sign-in page, per language: (html lang, h1, a link, a button).
LOGIN = {
    "en": ("en", "Sign in", "Forgot your password?", "Sign in with a passkey"),
    "de": ("de", "Anmelden", "Passwort vergessen?", "Mit Passkey anmelden"),
    "fr": ("fr", "Se connecter", "Mot de passe oublié ?", "Se connecter avec une clé d'accès"),
    "es": ("es", "Iniciar sesión", "¿Olvidó su contraseña?", "Iniciar sesión con una llave de acceso"),
    "pt-BR": ("pt-BR", "Entrar", "Esqueceu sua senha?", "Entrar com uma chave de acesso"),
    "ja": ("ja", "サインイン", "パスワードをお忘れですか?", "パスキーでサインイン"),
}


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)" dir="ltr">', html).group(1)


@pytest.mark.parametrize("tag", list(LOGIN))
def test_login_page_in_each_language_by_accept_language(client, tag):
    html = markup.unescape(client.get("/login", headers={"Accept-Language": f"{tag},en;q=0.5"})
                           .get_data(as_text=True))
    lang, heading, link, button = LOGIN[tag]
    assert _lang(html) == lang
    assert f"<h1>{heading}</h1>" in html and link in html and button in html


@pytest.mark.parametrize(("tag", "error"), [
    ("de", "Benutzername oder Passwort ist falsch."),
    ("fr", "Nom d'utilisateur ou mot de passe incorrect."),
    ("ja", "ユーザー名またはパスワードが正しくありません。"),
])
def test_a_failed_sign_in_says_so_in_the_language(app, client, tag, error):
    make_user(app)
    response = sign_in(client, password="wrong", **{"Accept-Language": tag})
    assert response.status_code == 401 and error in markup.unescape(response.get_data(as_text=True))


def test_field_errors_are_translated_and_tied_to_the_field(app, client):
    make_user(app)
    page = post_form(client, "/password/reset/not-a-token", {}, page="/password/forgot",
                     headers={"Accept-Language": "de"})
    assert page.status_code == 400
    response = post_form(client, "/register", {"email": "", "password": "x", "confirm": "y"},
                         headers={"Accept-Language": "de"})
    html = response.get_data(as_text=True)
    assert "Die Passwörter stimmen nicht überein." in html
    confirm = re.search(r'<input[^>]*id="confirm"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in confirm and 'aria-describedby="confirm-error"' in confirm
    assert 'id="confirm-error"' in html


def test_ui_locales_on_authorize_carries_through_the_sign_in(app, client):
    make_user(app)
    client_id, _ = make_client(app)
    first = client.get(authorize_url(client_id, ui_locales="ja de"),
                       headers={"Accept-Language": "fr"})
    assert first.status_code == 302 and "/login" in first.headers["Location"]
    html = client.get(first.headers["Location"], headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert _lang(html) == "ja" and "<h1>サインイン</h1>" in html
    # Later pages of the same journey keep the language the application asked for.
    forgot = client.get("/password/forgot", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert _lang(forgot) == "ja" and "パスワードをお忘れですか?" in forgot


def test_unsupported_ui_locales_fall_back_to_accept_language(app, client):
    client_id, _ = make_client(app)
    first = client.get(authorize_url(client_id, ui_locales="nl sv"), headers={"Accept-Language": "es"})
    html = client.get(first.headers["Location"], headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert _lang(html) == "es"


def test_the_signed_in_persons_locale_beats_accept_language(app, client):
    user_id = make_user(app)
    with app.app_context():
        db.session.get(User, uuid.UUID(user_id)).locale = "pt-BR"
        db.session.commit()
    assert sign_in(client).status_code == 302
    html = client.get("/account/sessions", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert _lang(html) == "pt-BR"
    assert "Onde você está conectado" in html and "Sair de todos os lugares" in html


def test_dates_on_the_sessions_page_are_localised(app, client):
    make_user(app)
    sign_in(client)
    html = client.get("/account/sessions", headers={"Accept-Language": "de"}).get_data(as_text=True)
    # German medium format: 02.12.2026, 10:50:00 (English would be "Dec 2, 2026, 10:50:00 AM").
    assert re.search(r'data-label="Angemeldet">\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}:\d{2}<', html)


def test_error_pages_speak_the_language_and_offer_a_way_on(client):
    response = client.get("/no-such-page", headers={"Accept-Language": "fr"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and _lang(html) == "fr"
    assert "Page introuvable" in html and "Aller à votre compte" in html


def test_an_expired_form_is_a_plain_sentence_not_csrf_jargon(app, client):
    make_user(app)
    response = client.post("/login", data={"username": "alice", "password": "x"},
                           headers={"Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This page was open too long or in another window." in html and "CSRF" not in html


@pytest.mark.parametrize(("tag", "subject", "line"), [
    ("de", "Setzen Sie Ihr Passwort zurück", "Öffnen Sie diesen Link innerhalb von 30 Minuten"),
    ("ja", "パスワードの再設定", "30 分以内にこのリンクを開いて"),
    ("en", "Reset your password", "Open this link within 30 minutes"),
])
def test_the_reset_mail_is_in_the_language_of_the_page(app, client, tag, subject, line):
    make_user(app)
    mails = MailLog(app)
    post_form(client, "/password/forgot", {"email": "alice@example.com"},
              headers={"Accept-Language": tag})
    [(to, sent_subject, body)] = mails.wait()
    assert to == "alice@example.com" and sent_subject == subject and line in body


def test_the_lock_notice_is_in_the_persons_own_language(app, client):
    user_id = make_user(app)
    with app.app_context():
        db.session.get(User, uuid.UUID(user_id)).locale = "fr"
        db.session.commit()
    mails = MailLog(app)
    threshold = app.extensions["idp"].config.lockout_threshold
    for _ in range(threshold):
        sign_in(client, password="wrong", **{"Accept-Language": "de"})
    [(_, subject, body)] = mails.wait()
    assert subject == "Votre compte a été verrouillé"
    assert "trop de tentatives de connexion échouées" in body


def test_discovery_advertises_the_languages(client):
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert metadata["ui_locales_supported"] == ["en", "de", "fr", "es", "pt-BR", "ja"]


def test_the_language_links_keep_the_pending_authorization(app, client):
    client_id, _ = make_client(app)
    first = client.get(authorize_url(client_id))
    location = first.headers["Location"]
    rid = re.search(r"rid=([^&]+)", location).group(1)
    html = client.get(location).get_data(as_text=True)
    links = dict(re.findall(r'<a href="([^"]+)" lang="([^"]+)"', html)[i][::-1]
                 for i in range(6))
    assert set(links) == {"en", "de", "fr", "es", "pt-BR", "ja"}
    assert f"rid={rid}" in links["de"].replace("&amp;", "&") and "ui_locales=de" in links["de"]
    german = client.get(links["de"].replace("&amp;", "&")).get_data(as_text=True)
    assert _lang(german) == "de" and f'name="rid" type="hidden" value="{rid}"' in german


def test_the_mfa_challenge_names_the_account_and_offers_a_way_out(app, client):
    from tests.mfa_flow import enrol_totp, password_step

    user_id = make_user(app)
    enrol_totp(app, user_id)
    client_id, _ = make_client(app)
    rid = re.search(r"rid=([^&]+)", client.get(authorize_url(client_id)).headers["Location"]).group(1)
    assert password_step(client, rid=rid).headers["Location"].endswith("/login/mfa")
    html = client.get("/login/mfa", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Anmeldung als alice@example.com" in html
    assert 'id="mfa-cancel"' in html and f"/login?rid={rid}" in html
    code_field = re.search(r'<input[^>]*id="code"[^>]*>', html).group(0)
    assert 'inputmode="numeric"' in code_field and 'autocomplete="one-time-code"' in code_field


def test_check_your_email_names_the_address(app, client):
    response = post_form(client, "/register", {"email": "new@example.com", "username": "newbie",
                                               "password": "Maple-Window-Story-42",
                                               "confirm": "Maple-Window-Story-42"},
                         headers={"Accept-Language": "es"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Enviamos un mensaje a <strong>new@example.com</strong>." in html


def test_ui_locales_inside_a_pushed_request_is_honoured(app, client):
    from tests.factories import REDIRECT_URI, pkce_pair
    from tests.oauth_flow import basic

    cid, secret = make_client(app)
    _, challenge = pkce_pair()
    pushed = client.post("/par", headers=basic(cid, secret), data={
        "response_type": "code", "client_id": cid, "redirect_uri": REDIRECT_URI,
        "scope": "openid", "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256", "ui_locales": "fr-CA"})
    assert pushed.status_code == 201
    first = client.get("/authorize", query_string={"client_id": cid,
                                                   "request_uri": pushed.get_json()["request_uri"]})
    html = client.get(first.headers["Location"], headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert _lang(html) == "fr" and "<h1>Se connecter</h1>" in html


@pytest.mark.parametrize(("accept", "reason"), [
    ("de", "Verwenden Sie einen Großbuchstaben."),
    ("ja", "大文字を含めてください。"),
    ("en", "Include an upper-case letter."),
])
def test_password_policy_reasons_are_in_the_page_language(client, accept, reason):
    """The tenant's password rules explain themselves in the language of the page."""
    password = "lowercase only 123 ~"
    page = post_form(client, "/register", {"email": "new@example.com", "username": "newbie",
                                           "password": password, "confirm": password},
                     headers={"Accept-Language": accept})
    assert page.status_code == 422
    assert reason in markup.unescape(page.get_data(as_text=True))


def test_profile_rules_answer_in_the_page_language(app, client):
    make_user(app)
    assert sign_in(client).status_code == 302
    page = post_form(client, "/account", {"name": "Alice", "zoneinfo": "Mitteleuropa"},
                     headers={"Accept-Language": "de"})
    assert "Die Zeitzone muss eine IANA-Zone wie Europe/Berlin sein." in markup.unescape(
        page.get_data(as_text=True))


def test_username_rules_answer_in_the_page_language(client):
    taken = post_form(client, "/register", {"email": "n@example.com", "username": "a b",
                                           "password": "Long-enough-pass-9!",
                                           "confirm": "Long-enough-pass-9!"},
                      headers={"Accept-Language": "ja"})
    assert "ユーザー名に「@」、空白、制御文字は使えません。" in markup.unescape(
        taken.get_data(as_text=True))


def test_machine_facing_apis_answer_in_english(app, client):
    """SCIM and the admin API keep English messages whatever Accept-Language says."""
    from tests.integration.admin_support import bearer

    uid = make_user(app)
    answer = client.patch(f"/api/v1/users/{uid}", json={"birthdate": "31.12.1990"},
                          headers={**bearer(client, app), "Accept-Language": "de"})
    assert answer.status_code == 422
    assert "Birthdate must look like 1990-12-31." in str(answer.get_json())
