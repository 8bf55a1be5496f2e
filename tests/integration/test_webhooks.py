"""Webhooks (issue 19): Standard Webhooks signatures checked with the `standardwebhooks`
package by a receiver on loopback, retries with the same webhook-id, tenant isolation,
URL rules, the delivery log, secret rotation with overlap, dead letters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from standardwebhooks import Webhook

from idp.events.worker import EventsWorker
from idp.extensions import db
from idp.models.base import utcnow
from idp.models.webhooks import WebhookDelivery, WebhookSubscription
from tests.account_support import MailLog, sign_in
from tests.factories import make_user
from tests.integration.admin_support import bearer, make_person, make_tenant
from tests.integration.webhook_receiver import Receiver
from tests.unit.test_event_schemas import validator

LOOPBACK = pytest.mark.parametrize("config_overrides", [{"outbound_allow": "127.0.0.1/32"}],
                                   indirect=True)


@pytest.fixture
def config_overrides(config_overrides, request):
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


@pytest.fixture
def client(app):
    return app.test_client()


def worker(app) -> EventsWorker:
    """The events worker the server runs in a thread, driven here one pass at a time."""
    with app.app_context():
        return EventsWorker(app.extensions["idp"], sessionmaker(bind=db.engine))


def deliveries(app, sub_id: str) -> list[WebhookDelivery]:
    with app.app_context():
        rows = db.session.execute(select(WebhookDelivery).where(
            WebhookDelivery.subscription_id == WebhookSubscription.id,
            WebhookSubscription.id == _uuid(sub_id)).order_by(WebhookDelivery.id)).scalars().all()
        db.session.expunge_all()
        return rows


def _uuid(value):
    import uuid

    return uuid.UUID(value)


def subscribe(client, auth, url, event_types=None, tenant=None):
    response = client.post("/api/v1/webhooks", headers=auth, json={
        "url": url, "event_types": event_types, "tenant": tenant})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@LOOPBACK
def test_signed_retries_keep_their_id_and_events_stay_in_their_tenant(app, client):
    auth = bearer(client, app)
    other = make_tenant(app, "other")
    with Receiver() as receiver:
        receiver.answers["/a"] = [500, 500, 200]
        mine = subscribe(client, auth, receiver.url("/a"), ["auth.login.*"])
        theirs = subscribe(client, auth, receiver.url("/b"), ["*"], tenant="other")
        alice = make_user(app)
        assert sign_in(client).status_code in (302, 303)
        assert receiver.requests == []  # nothing is sent while the request runs
        events = worker(app)
        t0 = utcnow()
        events.run_once(t0)
        gaps = []
        for _ in range(2):
            [row] = deliveries(app, mine["id"])
            gaps.append((row.next_attempt_at - row.last_attempt_at).total_seconds())
            events.run_once(row.next_attempt_at)
        calls = receiver.at("/a")
    assert [r["json"]["type"] for r in calls] == ["auth.login.success"] * 3
    schema = validator()
    assert 2 <= gaps[0] <= 2.5 and 10 <= gaps[1] <= 12.5  # retries within seconds, jittered
    assert len({r["headers"]["webhook-id"] for r in calls}) == 1
    for call in calls:
        verified = Webhook(mine["secret"]).verify(call["body"], call["headers"])
        assert verified["id"] == call["headers"]["webhook-id"]
        assert verified["subject"] == alice and verified["tenant"] == mine["tenant"]
        assert set(verified) == {"id", "type", "occurred_at", "tenant", "actor", "subject",
                                 "data", "schema"}
        assert verified["data"]["outcome"] == "success"
        schema.validate(verified)  # docs/events.schema.json
    # The other tenant's subscription saw its own events only (its webhook.created).
    assert {r["json"]["tenant"] for r in receiver.at("/b")} == {other}
    for call in receiver.at("/b"):
        schema.validate(Webhook(theirs["secret"]).verify(call["body"], call["headers"]))
    [row] = deliveries(app, mine["id"])
    assert (row.status, row.attempts, row.last_status) == ("delivered", 3, 200)
    log = client.get(f"/api/v1/webhooks/{mine['id']}/deliveries", headers=auth).get_json()
    assert log["items"][0]["status"] == "delivered" and log["items"][0]["attempts"] == 3
    assert isinstance(log["items"][0]["latency_ms"], int)


@LOOPBACK
def test_tenant_admin_sees_and_changes_only_its_tenant(app, client):
    make_tenant(app, "other")
    auth = bearer(client, app)
    with Receiver() as receiver:
        mine = subscribe(client, auth, receiver.url("/a"))
        theirs_auth = bearer(client, app, roles=("tenant_admin",), tenant="other")
        theirs = subscribe(client, theirs_auth, receiver.url("/b"), ["user.*"])
    listed = client.get("/api/v1/webhooks", headers=theirs_auth).get_json()["items"]
    assert [w["id"] for w in listed] == [theirs["id"]] and "secret" not in listed[0]
    for method, path in (("get", ""), ("delete", ""), ("post", "/secret"),
                         ("get", "/deliveries"), ("post", "/test")):
        response = getattr(client, method)(f"/api/v1/webhooks/{mine['id']}{path}",
                                           headers=theirs_auth)
        assert response.status_code == 404, (method, path)
    # Naming another tenant does not help a tenant admin.
    sneaky = client.post("/api/v1/webhooks", headers=theirs_auth,
                         json={"url": "https://93.184.215.14/x", "tenant": "default"})
    assert sneaky.status_code == 404
    helpdesk = bearer(client, app, roles=("helpdesk",))
    assert client.get("/api/v1/webhooks", headers=helpdesk).status_code == 403
    assert client.delete(f"/api/v1/webhooks/{theirs['id']}", headers=theirs_auth).status_code == 204


def test_url_and_event_type_rules(app, client):
    auth = bearer(client, app)
    cases = {
        "http://93.184.215.14/hook": 422,  # http only on loopback
        "http://127.0.0.1:9/hook": 422,  # loopback, but not in IDP_OUTBOUND_ALLOW
        "https://10.1.2.3/hook": 422,  # private
        "https://169.254.169.254/latest": 422,  # cloud metadata
        "ftp://example.com/x": 422,
        "not a url": 422,
    }
    for url, status in cases.items():
        response = client.post("/api/v1/webhooks", headers=auth, json={"url": url})
        assert response.status_code == status, url
        assert response.get_json()["error"] == "validation_failed"
    bad_type = client.post("/api/v1/webhooks", headers=auth,
                           json={"url": "https://93.184.215.14/h", "event_types": ["user.nope"]})
    assert bad_type.status_code == 422
    not_json = client.post("/api/v1/webhooks", headers=auth, data="x")
    assert not_json.status_code == 422 and not_json.get_json()["error"] == "bad_request"
    assert client.post("/api/v1/webhooks", headers=auth,
                       json={"url": ["x"]}).status_code == 422
    ok = client.post("/api/v1/webhooks", headers=auth,
                     json={"url": "https://93.184.215.14/h", "event_types": ["user.*"]})
    assert ok.status_code == 201 and ok.get_json()["secret"].startswith("whsec_")
    assert client.get("/api/v1/webhooks/nope", headers=auth).status_code == 404
    overlap = client.post(f"/api/v1/webhooks/{ok.get_json()['id']}/secret", headers=auth,
                          json={"overlap": -1})
    assert overlap.status_code == 422


@LOOPBACK
def test_rotated_secret_overlaps_and_only_matching_types_are_sent(app, client):
    auth = bearer(client, app)
    with Receiver() as receiver:
        sub = subscribe(client, auth, receiver.url("/a"), ["user.created"])
        rotated = client.post(f"/api/v1/webhooks/{sub['id']}/secret", headers=auth,
                              json={"overlap": 3600}).get_json()
        make_person(app, "bob")
        make_user(app)
        assert sign_in(client).status_code in (302, 303)  # auth.login.success: not subscribed
        worker(app).run_once()
        calls = receiver.at("/a")
    assert [c["json"]["type"] for c in calls] == ["user.created", "user.created"]
    for call in calls:  # receivers on either secret accept it during the overlap
        Webhook(sub["secret"]).verify(call["body"], call["headers"])
        Webhook(rotated["secret"]).verify(call["body"], call["headers"])


@LOOPBACK
def test_a_day_of_failures_dead_letters_disables_and_mails_the_owner(app, client):
    auth = bearer(client, app)
    make_person(app, "owner", roles=("superadmin",))
    mail = MailLog(app)
    with Receiver() as receiver:
        receiver.answers["/down"] = [503]
        sub = subscribe(client, auth, receiver.url("/down"), ["user.*"])
        with app.app_context():
            row = db.session.get(WebhookSubscription, _uuid(sub["id"]))
            from idp.accounts.users import query_user

            row.created_by = str(query_user(db.session, "owner").id)
            db.session.commit()
        make_user(app)
        events = worker(app)
        t0 = utcnow()
        events.run_once(t0)
        events.run_once(t0 + timedelta(hours=25))
        tested = client.post(f"/api/v1/webhooks/{sub['id']}/test", headers=auth).get_json()
    [row] = deliveries(app, sub["id"])[:1]
    assert (row.status, row.attempts, row.last_status) == ("dead", 2, 503)
    state = client.get(f"/api/v1/webhooks/{sub['id']}", headers=auth).get_json()
    assert state["enabled"] is False and state["disabled_reason"]
    assert [m[0] for m in mail.sent] == ["owner@example.com"]
    assert tested["status"] == "dead" and tested["last_status"] == 503
    again = client.post(f"/api/v1/webhooks/{sub['id']}/deliveries/{row.id}/redeliver",
                        headers=auth)
    assert again.status_code == 202 and again.get_json()["status"] == "pending"
    missing = client.post(f"/api/v1/webhooks/{sub['id']}/deliveries/999999/redeliver",
                          headers=auth)
    assert missing.status_code == 404
    # Once the receiver is fixed, enabling the subscription delivers the redelivered event.
    with Receiver() as fixed:
        with app.app_context():
            db.session.get(WebhookSubscription, _uuid(sub["id"])).url = fixed.url("/down")
            db.session.commit()
        enabled = client.post(f"/api/v1/webhooks/{sub['id']}/enable", headers=auth)
        assert enabled.status_code == 200 and enabled.get_json()["enabled"] is True
        worker(app).run_once()
        assert [c["json"]["type"] for c in fixed.at("/down")] == ["user.created"]
    assert deliveries(app, sub["id"])[0].status == "delivered"
