"""Mails as HTML with a plain-text part (issue 16): the plain text comes first, the HTML part
is the same text escaped, its links clickable, in the tenant's checked colour."""

from __future__ import annotations

from idp.mail import Mailer
from idp.tenancy.branding import DEFAULT_ACCENT, Brand, mail_html

BODY = "Hello <b>Ann</b> & co,\n\nReset here:\nhttps://id.example/password/reset/abc?x=1&y=2\n\nBye"


def test_the_message_is_plain_text_then_html():
    html = mail_html(Brand(name="Acme", primary_color="#0b5394"), "Reset", BODY, "de")
    message = Mailer(None, "idp <noreply@example.com>").build(
        "ann@example.com", "Reset", BODY, html=html)
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.iter_parts()
    assert plain.get_content_type() == "text/plain" and plain.get_content().strip() == BODY
    assert rich.get_content_type() == "text/html" and rich.get_content() == html


def test_plain_text_only_without_html():
    message = Mailer(None, "idp <noreply@example.com>").build("a@example.com", "S", BODY)
    assert message.get_content_type() == "text/plain"


def test_the_html_escapes_the_text_and_links_the_urls():
    html = mail_html(Brand(name="Acme <Corp>", primary_color="#0b5394"), "Reset", BODY, "de")
    assert '<html lang="de">' in html and ">Acme &lt;Corp&gt;</p>" in html
    assert "Hello &lt;b&gt;Ann&lt;/b&gt; &amp; co," in html and "<b>" not in html
    assert ('<a href="https://id.example/password/reset/abc?x=1&amp;y=2" style="color:#0b5394">'
            in html)
    assert html.count("<p>") == 3  # one per paragraph of the text


def test_an_unchecked_colour_never_reaches_the_html():
    html = mail_html(Brand(primary_color="red;background:url(x)"), "S", "Hi")
    assert "url(x)" not in html and DEFAULT_ACCENT in html
    assert ">idp</p>" in html  # the default brand
