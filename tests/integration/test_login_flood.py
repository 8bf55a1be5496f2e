"""A login flood: when every password-hash slot and waiting place of the process is taken,
a login answers 503 with Retry-After, counts nothing and records nothing (issue 20)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from idp.accounts import passwords
from idp.audit import EventType
from idp.errors import HashingBusy
from idp.extensions import db
from idp.models.accounts import User
from tests.account_support import events, sign_in
from tests.factories import make_user


@pytest.fixture
def person(app):
    return make_user(app)


@pytest.fixture
def one_busy_slot():
    """One hash slot, no waiting place; the slot held by another thread until the test
    lets it go."""
    before = passwords.SLOTS
    passwords.bound_hashing(1, 0)
    held, release = threading.Event(), threading.Event()

    def hold():
        with passwords.hashing_slot():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(30)
    yield release
    release.set()
    holder.join(30)
    passwords.SLOTS.close()
    passwords.SLOTS = before


def _until_free() -> None:
    """Until the holder thread has given its slot back (generous deadline)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with passwords.hashing_slot():
                return
        except HashingBusy:
            time.sleep(0.01)
    raise AssertionError("the slot never came free")


def _busy_count(client) -> float:
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith("idp_hashing_busy_total "):
            return float(line.split()[1])
    return 0.0


def _failures(app) -> int:
    with app.app_context():
        return db.session.execute(select(User.failed_login_count)
                                  .where(User.username == "alice")).scalar_one()


def test_a_login_while_every_hash_slot_is_busy_is_503_with_retry_after(app, client, person,
                                                                        one_busy_slot):
    busy_before = _busy_count(client)
    answer = sign_in(client)
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) >= 1
    assert "Please wait a moment and try again." in answer.get_data(as_text=True)
    assert "idp_session" not in answer.headers.get("Set-Cookie", "")
    # Nothing was evaluated: no failure counted, no login event.
    assert _failures(app) == 0
    assert events(app, EventType.LOGIN) == []
    assert _busy_count(client) == busy_before + 1

    one_busy_slot.set()  # the slot comes free: the same login goes through
    _until_free()
    assert sign_in(client).status_code == 302


def test_busy_answers_do_not_use_up_the_failed_login_limit(app, client, person, one_busy_slot):
    """IDP_LOGIN_RATE_LIMIT counts failed guesses (5 per 15 minutes by default); a refusal
    for lack of a hash slot is not one, so a crowd behind one address is not locked out."""
    for _ in range(8):
        assert sign_in(client).status_code == 503
    one_busy_slot.set()
    _until_free()
    assert sign_in(client, password="wrong").status_code == 401


def test_a_waiting_login_takes_the_slot_when_it_comes_free(app, client):
    """With a waiting place free, a login waits for the hashing thread instead of failing."""
    make_user(app)
    before = passwords.SLOTS
    passwords.bound_hashing(1, 1)
    try:
        held = threading.Event()

        def hold():
            with passwords.hashing_slot():
                held.set()
                passwords.SLOTS.run(time.sleep, 0.3)  # the hashing thread is busy

        holder = threading.Thread(target=hold)
        holder.start()
        assert held.wait(30)
        assert sign_in(client).status_code == 302
        holder.join(30)
    finally:
        passwords.SLOTS.close()
        passwords.SLOTS = before


def test_a_login_beyond_every_place_waits_for_one_within_the_bound(app, client):
    """A burst: no waiting place left, but a place comes free within `wait` seconds, so
    the login waits for it and succeeds instead of answering 503."""
    make_user(app)
    before = passwords.SLOTS
    passwords.bound_hashing(1, 0, wait=30)
    try:
        held = threading.Event()

        def hold():
            with passwords.hashing_slot():
                held.set()
                time.sleep(0.3)

        holder = threading.Thread(target=hold)
        holder.start()
        assert held.wait(30)
        assert sign_in(client).status_code == 302
        holder.join(30)
    finally:
        passwords.SLOTS.close()
        passwords.SLOTS = before


def test_slots_per_worker_leave_cores_and_threads_for_the_rest():
    from idp.server_runner import hash_slots

    assert hash_slots(workers=2, cores=2, threads=4) == (1, 1)
    assert hash_slots(workers=1, cores=8, threads=4) == (2, 1)
    assert hash_slots(workers=4, cores=2, threads=8) == (1, 3)
