"""Lockout that explains itself without telling who has an account: after the threshold
the page says sign-in is paused and a mail was sent — the same words for an unknown name —
and the lock mail carries a one-time unlock link."""

from __future__ import annotations

import re

import pytest

from idp.audit import EventType
from tests.account_support import MailLog, events, sign_in
from tests.factories import PASSWORD, csrf_from, make_user

PAUSED = "Sign-in is paused for this account after too many attempts."


@pytest.fixture
def config_overrides(config_overrides):
    config_overrides.update(lockout_threshold=3, login_rate_limit="50 per minute")
    return config_overrides


def _alert(response) -> str:
    match = re.search(r'<div class="alert error" role="alert">(.*?)</div>',
                      response.get_data(as_text=True), re.S)
    return match.group(1) if match else ""


def _fail(client, login, times):
    return [sign_in(client, username=login, password="wrong-Password-1") for _ in range(times)]


def test_locked_and_unknown_accounts_read_the_same(app, client):
    make_user(app)
    mail = MailLog(app)
    known = _fail(client, "alice", 4)
    unknown = _fail(client, "nobody-here", 4)
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [401] * 4
    assert [_alert(r) for r in known] == [_alert(r) for r in unknown]
    assert PAUSED not in _alert(known[1]) and "Incorrect username or password." in _alert(known[1])
    assert PAUSED in _alert(known[2]) and PAUSED in _alert(known[3])
    mail.wait(1)
    assert [to for to, _, _ in mail.sent] == ["alice@example.com"]


def test_the_lock_mail_unlocks_once(app, client):
    make_user(app)
    mail = MailLog(app)
    _fail(client, "alice", 3)
    assert PAUSED in _alert(sign_in(client))  # the right password is refused while locked
    link = mail.link("/login/unlock/")
    ask = client.get(link)
    assert ask.status_code == 200 and "Unlock your account" in ask.get_data(as_text=True)
    assert PAUSED in _alert(sign_in(client))  # opening the link alone unlocks nothing
    done = client.post(link, data={"csrf_token": csrf_from(ask.get_data(as_text=True))})
    assert done.status_code == 200 and "Your account is unlocked" in done.get_data(as_text=True)
    assert events(app, EventType.USER_UNLOCKED)[-1].details["by"] == "unlock_link"
    assert sign_in(client, password=PASSWORD).status_code == 302
    again = client.get(link)
    assert again.status_code == 400 and 'href="/password/forgot"' in again.get_data(as_text=True)
