"""Client usage (last used, IP, tokens per day), counted in memory and flushed in batches.

A database write per token request would cost throughput; instead each process
aggregates and writes at most every `interval` seconds (and at shutdown).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime


class UsageRecorder:
    def __init__(self, interval: float = 10.0):
        self.interval = interval
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = defaultdict(int)
        self._last: dict[str, tuple[datetime, str | None]] = {}
        self._secrets: dict[uuid.UUID, datetime] = {}
        self._flushed_at = time.monotonic()

    def note_token(self, client_id: str, ip: str | None) -> None:
        now = datetime.now(UTC)
        with self._lock:
            self._counts[(client_id, now.date().isoformat())] += 1
            self._last[client_id] = (now, ip)

    def note_secret_use(self, client_id: str, secret_id: uuid.UUID) -> None:
        with self._lock:
            self._secrets[secret_id] = datetime.now(UTC)

    def due(self) -> bool:
        return time.monotonic() - self._flushed_at >= self.interval

    def drain(self):
        """Take what has been counted since the last flush."""
        with self._lock:
            counts, last, secrets = dict(self._counts), dict(self._last), dict(self._secrets)
            self._counts.clear()
            self._last.clear()
            self._secrets.clear()
            self._flushed_at = time.monotonic()
        return counts, last, secrets

    def restore(self, counts, last, secrets) -> None:
        """Put back what a failed flush took, so no count is lost."""
        with self._lock:
            for key, n in counts.items():
                self._counts[key] += n
            for client_id, value in last.items():
                self._last.setdefault(client_id, value)
            for secret_id, at in secrets.items():
                self._secrets.setdefault(secret_id, at)
