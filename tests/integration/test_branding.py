"""Branding per tenant (issue 16; SPEC "Languages and branding"): display name, logo,
primary colour and mail sender, set by an admin through the API and the console, checked
by the tenant settings schema, and applied without weakening the pages' CSP."""

from __future__ import annotations

import base64
import re
from io import BytesIO

import pytest

from tests.account_support import MailLog, post_form
from tests.factories import make_user
from tests.integration.admin_support import bearer, browser_login, make_person

# A real 1x1 PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
                       "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
LOGO = "data:image/png;base64," + base64.b64encode(PNG).decode()
SVG = "data:image/svg+xml;base64," + base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>').decode()
GOOD = {"display_name": "Acme Corp", "primary_color": "#0B5394", "logo": LOGO,
        "mail_from_name": "Acme Sign-in", "mail_from_address": "login@acme.example"}


def _tenant(client, auth) -> dict:
    return client.get("/api/v1/tenants", headers=auth).get_json()["items"][0]


def _brand(client, app, branding) -> tuple[dict, object]:
    auth = bearer(client, app)
    tenant = _tenant(client, auth)
    response = client.patch(f"/api/v1/tenants/{tenant['id']}",
                            json={"settings": {"branding": branding}}, headers=auth)
    return tenant, response


def test_the_default_theme_is_unchanged(client):
    html = client.get("/login").get_data(as_text=True)
    assert "<title>Sign in · idp</title>" in html
    assert '<a class="brand" href="/">idp</a>' in html
    assert "/branding/" not in html


def test_a_branded_tenant_shows_its_name_logo_and_colour(app, client):
    tenant, response = _brand(client, app, GOOD)
    assert response.status_code == 200, response.get_data(as_text=True)
    stored = response.get_json()["settings"]["branding"]
    assert stored["primary_color"] == "#0b5394" and stored["display_name"] == "Acme Corp"
    login = client.get("/login")
    html = login.get_data(as_text=True)
    assert "<title>Sign in · Acme Corp</title>" in html
    logo_url = f"/branding/{tenant['id']}/logo"
    assert f'<img src="{logo_url}" alt="Acme Corp" height="32">' in html
    css_url = re.search(r'<link rel="stylesheet" href="(/branding/[^"]+/theme\.css[^"]*)">', html).group(1)
    # The page's policy is untouched: styles and images from our own origin only.
    csp = login.headers["Content-Security-Policy"]
    assert "style-src 'self';" in csp and "img-src 'self' data:;" in csp
    css = client.get(css_url)
    assert css.mimetype == "text/css"
    assert css.get_data(as_text=True) == ":root { --accent:#0b5394; --accent-dark:#094479; }\n"
    logo = client.get(logo_url)
    assert logo.status_code == 200 and logo.mimetype == "image/png" and logo.data == PNG
    assert logo.headers["X-Content-Type-Options"] == "nosniff"
    assert logo.headers["Content-Security-Policy"] == "default-src 'none'"


@pytest.mark.parametrize(("branding", "field"), [
    ({"primary_color": "red;}body{display:none"}, "settings.branding.primary_color"),
    ({"primary_color": "#fff"}, "settings.branding.primary_color"),
    ({"primary_color": "#0b5394;background:url(//evil)"}, "settings.branding.primary_color"),
    ({"primary_color": "expression(alert(1))"}, "settings.branding.primary_color"),
    ({"primary_color": "#ffff00"}, "settings.branding.primary_color"),  # 1.07:1 on white
    ({"primary_color": 1193046}, "settings.branding.primary_color"),
    ({"logo": SVG}, "settings.branding.logo"),
    ({"logo": "https://evil.example/logo.png"}, "settings.branding.logo"),
    ({"logo": "data:image/png;base64,not base64!"}, "settings.branding.logo"),
    ({"logo": "data:image/png;base64," + base64.b64encode(PNG + b"\0" * 70_000).decode()},
     "settings.branding.logo"),
    ({"display_name": "Acme\u0007"}, "settings.branding.display_name"),
    ({"display_name": "x" * 101}, "settings.branding.display_name"),
    ({"display_name": ""}, "settings.branding.display_name"),
    ({"mail_from_address": "login@acme.example\r\nBcc: all@example.com"},
     "settings.branding.mail_from_address"),
    ({"mail_from_name": "Acme\r\nBcc: all@example.com"}, "settings.branding.mail_from_name"),
    ({"css": "body{}"}, "settings.branding.css"),
    ("Acme", "settings.branding"),
])
def test_hostile_or_wrong_values_are_422_and_not_stored(app, client, branding, field):
    tenant, response = _brand(client, app, branding)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["field"] == field
    after = client.get(f"/api/v1/tenants/{tenant['id']}", headers=bearer(client, app)).get_json()
    assert "branding" not in after["settings"]


def test_low_contrast_is_refused_with_the_ratio(app, client):
    _, response = _brand(client, app, {"primary_color": "#7f9fbf"})
    assert response.status_code == 422
    assert "2.76:1" in response.get_json()["message"] and "4.5:1" in response.get_json()["message"]


def test_a_stored_colour_reaches_the_stylesheet_only_as_rrggbb(app, client):
    """Even a value written to the database behind the schema's back cannot inject CSS."""
    from idp.tenancy.branding import Brand, theme_css

    assert theme_css(Brand(primary_color="#000000;}*{display:none")) == ""
    assert theme_css(Brand(primary_color="#0b5394")).startswith(":root { --accent:#0b5394;")


def test_mail_goes_out_from_the_branded_sender(app, client):
    make_user(app)
    _brand(client, app, GOOD)
    mails = MailLog(app)
    post_form(client, "/password/forgot", {"email": "alice@example.com"})
    mails.wait()
    assert mails.senders == ["Acme Sign-in <login@acme.example>"]
    # The HTML part: the same text under the tenant's name in its colour, the link clickable.
    [html] = mails.html
    link = re.search(r"(http://localhost/password/reset/\S+)", mails.sent[0][2]).group(1)
    assert ">Acme Corp</p>" in html and "border-top:4px solid #0b5394" in html.lower()
    assert f'<a href="{link}"' in html and '<html lang="en">' in html


def test_the_console_sets_branding_with_an_uploaded_logo(app, client):
    make_user(app, email="root@example.com", username="root")
    make_person(app, "boss", roles=["superadmin"])
    token = browser_login(client, "boss")
    tenant = client.get("/api/v1/tenants").get_json()["items"][0]
    form = {"name": "Default", "csrf_token": token, "branding.display_name": "Acme Corp",
            "branding.primary_color": "#0b5394"}
    saved = client.post(f"/admin/tenants/{tenant['id']}/settings",
                        data={**form, "branding.logo": (BytesIO(PNG), "logo.png", "image/png")},
                        content_type="multipart/form-data")
    assert saved.status_code in (302, 303), saved.get_data(as_text=True)
    stored = client.get(f"/api/v1/tenants/{tenant['id']}").get_json()["settings"]["branding"]
    assert stored["logo"] == LOGO and stored["display_name"] == "Acme Corp"
    # Saving again without a file keeps the logo; a hostile colour is refused at its field.
    refused = client.post(f"/admin/tenants/{tenant['id']}/settings",
                          data={**form, "branding.primary_color": "red;}"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="branding-primary_color-error"' in html
    after = client.get(f"/api/v1/tenants/{tenant['id']}").get_json()["settings"]["branding"]
    assert after["primary_color"] == "#0b5394" and after["logo"] == LOGO
    svg = client.post(f"/admin/tenants/{tenant['id']}/settings",
                      data={**form, "branding.logo": (BytesIO(b"<svg/>"), "x.svg", "image/png")},
                      content_type="multipart/form-data")
    assert svg.status_code == 422 and "branding.logo" in svg.get_data(as_text=True)
