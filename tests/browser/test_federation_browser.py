"""The "Sign in with …" button and home realm discovery in a real Chromium: our `idp serve`
and node oidc-provider as the upstream, both on loopback."""

from __future__ import annotations

import json

import pytest

from tests.interop.federation_support import CLIENT_ID, CLIENT_SECRET, Upstream, skip_reason
from tests.live_server import LiveIdp

pytestmark = pytest.mark.browser
CAROL = {"carol": {"email": "carol@corp.example", "email_verified": True,
                   "name": "Carol Upstream"}}


@pytest.fixture
def federated(tmp_path):
    """Our server with the upstream registered by the CLI, as an operator would."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    live = LiveIdp(tmp_path, IDP_OUTBOUND_ALLOW="127.0.0.1/32")
    upstream = Upstream("corp", CAROL, our_issuer=live.url)
    try:
        live.cli("db", "upgrade")
        made = json.loads(live.cli("providers", "create", "--name", "Corp", "--issuer",
                                   upstream.issuer, "--client-id", CLIENT_ID,
                                   "--client-secret-stdin", "--domain", "corp.example",
                                   "--json", stdin=CLIENT_SECRET + "\n"))
        assert made["redirect_uri"] == f"{live.url}/login/external/corp/callback"
        live.start()
        yield live, upstream
    finally:
        live.stop()
        upstream.stop()


def _upstream_login(page, upstream, login="carol"):
    page.wait_for_url(f"{upstream.issuer}/interaction/**")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_url(f"{upstream.issuer}/interaction/**")  # the upstream's consent
    page.click("button[type=submit]")


def test_sign_in_with_button_and_home_realm_discovery(federated, context, shot):
    live, upstream = federated
    page = context.new_page()
    page.goto(f"{live.url}/login")
    button = page.get_by_role("link", name="Sign in with Corp")
    assert button.is_visible()
    shot(page, "federation-login-button")
    button.click()
    _upstream_login(page, upstream)
    page.wait_for_url(f"{live.url}/account")
    assert "carol@corp.example" in page.content()
    page.goto(f"{live.url}/account/identities")
    assert page.locator("tr.identity-row").count() == 1 and "Corp" in page.content()
    shot(page, "federation-linked-identities")

    # Home realm discovery: a new browser types only the address and is sent upstream.
    other = context.browser.new_context()
    fresh = other.new_page()
    try:
        fresh.goto(f"{live.url}/login")
        fresh.fill("input[name=username]", "carol@corp.example")
        fresh.click("input[type=submit], button[type=submit] >> nth=0")
        fresh.wait_for_url(f"{upstream.issuer}/interaction/**")
        shot(fresh, "federation-home-realm-upstream")
    finally:
        other.close()
