"""One rule set for profile claims: the admin API and /account accept and refuse the same
values (website/profile/picture http(s) URLs, locale a BCP 47 tag, zoneinfo an IANA zone)."""

from __future__ import annotations

import pytest

from tests.account_support import post_form, sign_in
from tests.factories import make_user
from tests.integration.admin_support import bearer

BAD = [
    ("website", "javascript:alert(1)"), ("website", "data:text/html,<b>x</b>"),
    ("profile", "ftp://example.com/alice"), ("picture", "https:///no-host.png"),
    ("website", "https://user@example.com/"), ("website", "http://exa mple.com/"),
    ("locale", "x"), ("locale", "english please"), ("locale", "en_US"), ("locale", "en-"),
    ("zoneinfo", "Mars/Olympus"), ("zoneinfo", "Europe/London\nX"),
    ("phone_number", "call me"), ("birthdate", "31/12/1990"),
    ("name", "x" * 201), ("nickname", "bad\x00nul"),
]
GOOD = {"website": "https://alice.example.com/", "profile": "http://example.org/~alice",
        "picture": "https://cdn.example.com/a.png", "locale": "zh-Hant-TW",
        "zoneinfo": "America/Argentina/Buenos_Aires", "phone_number": "+44 20 7946 0000",
        "birthdate": "1990-05-04", "nickname": "Ali"}


@pytest.mark.parametrize(("field", "value"), BAD)
def test_admin_api_and_account_page_refuse_the_same_values(app, client, field, value):
    uid = make_user(app)
    api = client.patch(f"/api/v1/users/{uid}", json={field: value}, headers=bearer(client, app))
    if "\x00" in value:  # refused before any rule: the one JSON reader takes no NUL (400)
        assert api.status_code == 400, (field, value, api.get_json())
    else:
        assert api.status_code == 422, (field, value, api.get_json())
        assert api.get_json()["field"] == field
    assert sign_in(client).status_code == 302
    page = post_form(client, "/account", {field: value})
    assert page.status_code in (400, 422), (field, value)  # 400: the form's own type check


def test_admin_api_and_account_page_accept_the_same_values(app, client):
    uid = make_user(app)
    api = client.patch(f"/api/v1/users/{uid}", json=GOOD, headers=bearer(client, app))
    assert api.status_code == 200, api.get_json()
    assert {k: api.get_json()[k] for k in GOOD} == GOOD
    assert sign_in(client).status_code == 302
    page = post_form(client, "/account", {**GOOD, "locale": "de-CH-1996"})
    # The saved locale is the person's language from now on: the answer is already German.
    assert page.status_code == 200 and "Ihr Profil wurde gespeichert." in page.get_data(as_text=True)


def test_address_claim_takes_only_oidc_members(app, client):
    uid = make_user(app)
    auth = bearer(client, app)
    ok = client.patch(f"/api/v1/users/{uid}", headers=auth,
                      json={"address": {"locality": "Paris", "country": "FR"}})
    assert ok.status_code == 200
    bad = client.patch(f"/api/v1/users/{uid}", headers=auth,
                       json={"address": {"locality": "Paris", "script": "<x>"}})
    assert bad.status_code == 422 and bad.get_json()["field"] == "address"
