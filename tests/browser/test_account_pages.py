"""Account pages in a real Chromium: sign-up with the strength indicator, email verification
(mail received over SMTP), the sessions page, password reset by email, forced change."""

from __future__ import annotations

import re
import time
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from tests.live_server import LiveIdp, free_port

pytestmark = pytest.mark.browser

FIRST = "Maple-Window-Story-42"
SECOND = "Quiet-River-Stone-77"
THIRD = "Amber-Field-Light-19"


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def link(self, path: str, after: int = 0, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages[after:]:
                plain = next(p for p in message.walk() if p.get_content_type() == "text/plain")
                body = plain.get_payload(decode=True).decode()
                match = re.search(rf"(http://127\.0\.0\.1:\d+{path}\S+)", body)
                if match:
                    return match.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no mail with {path}")


@pytest.fixture
def server(tmp_path, browser):
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    idp = LiveIdp(tmp_path, IDP_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
                  IDP_LOGIN_RATE_LIMIT="100 per minute")
    idp.start()
    idp.inbox = inbox
    yield idp
    idp.stop()
    smtp.stop()


def _sign_in(page, url, login, password):
    page.goto(f"{url}/login")
    page.fill("#username", login)
    page.fill("#password", password)
    page.click("#submit")


def test_signup_verify_sessions_reset_and_forced_change(server, browser, page, shot):
    url = server.url
    page.goto(f"{url}/register")
    page.fill("#email", "erin@example.com")
    page.fill("#username", "erin")
    page.fill("#password", "password")
    assert "needs" in page.inner_text("#password-meter-text")
    shot(page, "account-00-register-weak")
    page.fill("#password", FIRST)
    assert page.eval_on_selector("#password-meter", "m => m.value") >= 3
    page.fill("#confirm", FIRST)
    shot(page, "account-01-register")
    page.click("#submit")
    assert page.inner_text("h1") == "Check your email"
    shot(page, "account-02-register-done")

    page.goto(server.inbox.link("/verify-email/"))
    assert page.inner_text("h1") == "Email confirmed"
    shot(page, "account-03-email-verified")

    _sign_in(page, url, "erin", FIRST)
    page.wait_for_url(f"{url}/account")
    assert "verified" in page.inner_text("dl.fields")
    shot(page, "account-04-profile")

    other = browser.new_context(user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                                "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
    other_page = other.new_page()
    _sign_in(other_page, url, "erin@example.com", FIRST)
    other_page.wait_for_url(f"{url}/account")
    page.goto(f"{url}/account/sessions")
    assert page.locator("tr.session-row").count() == 2
    assert "Chrome on Windows" in page.inner_text("table")
    shot(page, "account-05-sessions")
    page.locator("tr.session-row", has_text="Chrome on Windows").locator("button").click()
    assert page.locator("tr.session-row").count() == 1
    other_page.goto(f"{url}/account")
    assert "/login" in other_page.url
    other.close()

    sent = len(server.inbox.messages)
    page.goto(f"{url}/password/forgot")
    page.fill("#email", "erin@example.com")
    page.click("#submit")
    assert "If an account matches" in page.inner_text(".alert")
    shot(page, "account-06-forgot")
    page.goto(server.inbox.link("/password/reset/", after=sent))
    page.fill("#password", SECOND)
    page.fill("#confirm", SECOND)
    shot(page, "account-07-reset")
    page.click("#submit")
    assert page.inner_text("h1") == "Your password was changed"
    page.goto(f"{url}/account")
    assert "/login" in page.url  # the reset signed every device out

    server.cli("users", "require-password-change", "erin")
    _sign_in(page, url, "erin", SECOND)
    page.wait_for_url(f"{url}/login/password")
    page.fill("#password", SECOND)
    page.fill("#confirm", SECOND)
    page.click("#submit")
    assert "not used for your last" in page.inner_text(".card")
    shot(page, "account-08-forced-change-refused")
    page.fill("#password", THIRD)
    page.fill("#confirm", THIRD)
    page.click("#submit")
    page.wait_for_url(f"{url}/account")
    shot(page, "account-09-after-forced-change")
