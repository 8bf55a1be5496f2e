"""A small in-process cache for upstream documents (OpenID discovery, JWKS): each entry
lives a bounded time, the cache holds a bounded number of entries, and a caller may force a
refresh (a JWKS that lacks the `kid` of a token: the upstream rotated its keys). Only
documents that passed their checks are stored; fetching still goes through the outbound
guard, with the policy part of the key."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

TTL = 300.0  # seconds: as long as our own JWKS max-age
MAX_ENTRIES = 256


class MetadataCache:
    def __init__(self, ttl: float = TTL, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, fetch: Callable[[], Any], refresh: bool = False) -> Any:
        """The cached value of `key`, or `fetch()` (stored) when absent, stale or refreshed."""
        now = self.clock()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and not refresh and now - hit[0] < self.ttl:
            return hit[1]
        value = fetch()  # outside the lock: a slow upstream does not stall the others
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


UPSTREAM = MetadataCache()  # the process's cache of upstream discovery documents and JWKS
