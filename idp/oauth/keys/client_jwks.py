"""Fetching a client's `jwks_uri` through the outbound guard: cached, bounded refetch."""

from __future__ import annotations

import threading
import time

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.outbound import GENERIC_ERROR, PUBLIC_ONLY, OutboundPolicy, OutboundRefused, fetch_json

CACHE_SECONDS = 300
MIN_REFETCH_SECONDS = 30


class JWKSFetchError(Exception):
    """The document could not be fetched or parsed; the text is the same for every cause."""


class JWKSFetcher:
    def __init__(self, policy: OutboundPolicy = PUBLIC_ONLY):
        self._policy = policy
        self._cache: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()

    def get(self, uri: str, kid: str | None = None) -> KeySet:
        """The key set at `uri`; refetched when stale or when `kid` is unknown (rate-limited)."""
        now = time.monotonic()
        cached = self._cache.get(uri)
        if cached:
            fetched_at, keys = cached
            fresh = now - fetched_at < CACHE_SECONDS
            known = kid is None or any(k.kid == kid for k in keys.keys)
            if fresh and (known or now - fetched_at < MIN_REFETCH_SECONDS):
                return keys
        keys = self._fetch(uri)
        with self._lock:
            self._cache[uri] = (now, keys)
        return keys

    def _fetch(self, uri: str) -> KeySet:
        try:
            return KeySet.import_key_set(fetch_json(uri, self._policy))
        except OutboundRefused:
            raise JWKSFetchError(GENERIC_ERROR) from None
        except (JoseError, ValueError, TypeError, KeyError, AttributeError):
            raise JWKSFetchError(GENERIC_ERROR) from None
