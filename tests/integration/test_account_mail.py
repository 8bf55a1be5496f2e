"""Mail over real SMTP: an aiosmtpd server on loopback receives the reset mail, and the
link in it is followed to a new password; the lockout notice arrives the same way."""

from __future__ import annotations

import re
import time
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from tests.account_support import post_form, sign_in
from tests.factories import make_user
from tests.live_server import free_port

NEW = "Silver-Kettle-Rain-33"


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def wait(self, count=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, "no mail arrived"
        return self.messages


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


@pytest.fixture
def config_overrides(config_overrides, inbox):
    config_overrides.update(smtp_url=inbox.url, lockout_threshold=2)
    return config_overrides


def test_reset_mail_arrives_over_smtp_and_its_link_works(app, client, inbox):
    make_user(app)
    post_form(client, "/password/forgot", {"email": "alice@example.com"})
    recipients, message = inbox.wait()[0]
    assert recipients == ["alice@example.com"]
    assert message["Subject"] == "Reset your password"
    # Plain text first, then the same text as HTML (issue 16), both over real SMTP.
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.get_payload()
    assert (plain.get_content_type(), rich.get_content_type()) == ("text/plain", "text/html")
    body = plain.get_payload(decode=True).decode()
    assert "/password/reset/" in rich.get_payload(decode=True).decode()
    path = re.search(r"http://localhost(/password/reset/\S+)", body).group(1)
    assert client.get(path).status_code == 200
    done = post_form(client, path, {"password": NEW, "confirm": NEW})
    assert done.status_code == 200
    assert sign_in(client, password=NEW).status_code == 302


def test_lockout_notice_arrives_over_smtp(app, client, inbox):
    make_user(app)
    sign_in(client, password="wrong")
    sign_in(client, password="wrong")
    recipients, message = inbox.wait()[0]
    assert recipients == ["alice@example.com"]
    assert message["Subject"] == "Your account was locked"
