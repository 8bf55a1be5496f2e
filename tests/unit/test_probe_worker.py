"""Which requests the probe threads take: by the request line only."""

import pytest

from idp.probe_worker import is_probe_request


@pytest.mark.parametrize("head", [
    b"GET /healthz HTTP/1.1\r\nHost: x", b"HEAD /healthz HTTP/1.1", b"GET /readyz?strict=1 HTTP/1.1",
    b"GET /jwks.json HTTP/1.1", b"GET /.well-known/openid-configuration HTTP/1.1",
])
def test_probe_requests_go_to_the_probe_threads(head):
    assert is_probe_request(head)


@pytest.mark.parametrize("head", [
    b"POST /healthz HTTP/1.1", b"GET /healthzz HTTP/1.1", b"GET /readyz/x HTTP/1.1",
    b"GET /userinfo HTTP/1.1", b"POST /token HTTP/1.1", b"GET /login?next=/healthz HTTP/1.1",
    b"", b"GE", b"\x16\x03\x01",
])
def test_everything_else_goes_to_the_request_threads(head):
    assert not is_probe_request(head)
