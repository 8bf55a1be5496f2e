"""The upstream document cache: bounded lifetime, bounded size, forced refresh; and the
JWKS read again (through the outbound guard, from a loopback server) only for an unknown kid."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from idp.federation import oidc
from idp.federation.metadata_cache import UPSTREAM, MetadataCache
from idp.outbound import OutboundPolicy


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_entries_live_a_bounded_time_and_refresh_on_demand():
    clock, fetched = Clock(), []
    cache = MetadataCache(ttl=300, clock=clock)

    def fetch():
        fetched.append(1)
        return len(fetched)

    assert cache.get("k", fetch) == 1 and cache.get("k", fetch) == 1
    clock.now += 299
    assert cache.get("k", fetch) == 1
    clock.now += 2
    assert cache.get("k", fetch) == 2  # stale after the TTL
    assert cache.get("k", fetch, refresh=True) == 3


def test_size_is_bounded_oldest_out_first():
    cache = MetadataCache(max_entries=2)
    for key in "abc":
        cache.get(key, lambda key=key: key)
    assert cache.get("a", lambda: "again") == "again"  # "a" was dropped
    assert cache.get("c", lambda: "never") == "c"


def test_a_failed_fetch_is_not_cached():
    cache = MetadataCache()
    with pytest.raises(ValueError):
        cache.get("k", lambda: (_ for _ in ()).throw(ValueError("down")))
    assert cache.get("k", lambda: "up") == "up"


@pytest.fixture
def jwks_server():
    state = {"keys": [], "hits": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's hook name
            state["hits"] += 1
            body = json.dumps({"keys": state["keys"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    UPSTREAM.clear()
    yield f"http://127.0.0.1:{server.server_port}/jwks", state
    server.shutdown()
    server.server_close()
    UPSTREAM.clear()


def test_jwks_is_cached_and_read_again_for_an_unknown_kid(jwks_server):
    url, state = jwks_server
    policy = OutboundPolicy.from_entries(["127.0.0.1/32"])
    old = RSAKey.generate_key(2048, parameters={"kid": "old"})
    new = RSAKey.generate_key(2048, parameters={"kid": "new"})
    state["keys"] = [old.as_dict(private=False)]
    assert [k.kid for k in oidc._upstream_keys(url, policy, "old").keys] == ["old"]
    oidc._upstream_keys(url, policy, "old")
    assert state["hits"] == 1  # cached
    state["keys"] = [new.as_dict(private=False)]  # the upstream rotated
    token = jwt.encode({"alg": "RS256", "kid": "new"}, {"sub": "x"}, new)
    assert token and [k.kid for k in oidc._upstream_keys(url, policy, "new").keys] == ["new"]
    assert state["hits"] == 2
    oidc._upstream_keys(url, policy, "new")
    assert state["hits"] == 2
    # Another policy is another entry: a stricter one never sees what a looser one fetched.
    with pytest.raises(Exception):  # noqa: B017 - OutboundRefused, loopback not allowed
        oidc._upstream_keys(url, OutboundPolicy(), "new")
