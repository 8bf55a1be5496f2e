"""Fetching a client's `jwks_uri`: short timeouts, no redirects, cached, bounded refetch."""

from __future__ import annotations

import threading
import time

from joserfc.jwk import KeySet

CACHE_SECONDS = 300
MIN_REFETCH_SECONDS = 30
TIMEOUT = (2.0, 3.0)
MAX_BYTES = 64 * 1024


class JWKSFetchError(Exception):
    """The document could not be fetched or parsed."""


class JWKSFetcher:
    def __init__(self, session=None):
        self._http = session  # a requests.Session, made on first use (requests loads lazily)
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
        import requests

        if self._http is None:
            self._http = requests.Session()
        try:
            # No redirects at all: a redirect could point the fetch at another host.
            response = self._http.get(uri, timeout=TIMEOUT, allow_redirects=False, stream=True)
            body = response.raw.read(MAX_BYTES + 1, decode_content=True)
        except requests.RequestException as exc:
            raise JWKSFetchError(f"could not fetch {uri}: {exc.__class__.__name__}") from None
        if response.status_code != 200 or len(body) > MAX_BYTES:
            raise JWKSFetchError(f"{uri} answered {response.status_code}")
        try:
            import json

            return KeySet.import_key_set(json.loads(body))
        except (ValueError, TypeError, KeyError) as exc:
            raise JWKSFetchError(f"{uri} is not a JWK set: {exc}") from None
