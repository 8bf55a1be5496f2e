"""DPoP server nonces (RFC 9449 8 and 9): stateless, the same in every worker, rotating.

A nonce is the number of the current time window with an HMAC of it under a key every
worker derives from the same master key: any worker (or instance) accepts what another
issued, nothing is stored, and a client cannot compute a future nonce, so proofs made in
advance (section 11.2) are useless. A nonce is accepted in its own window and the next
one, so it lives between one and two windows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

WINDOW = 120  # seconds per nonce; a nonce is accepted for one to two windows
_MAC_BYTES = 16


class NonceSource:
    """Issues the current nonce and recognises current and previous ones."""

    def __init__(self, key: bytes, window: int = WINDOW):
        if len(key) < 16:
            raise ValueError("a DPoP nonce key needs at least 16 bytes")
        self._key, self.window = key, window

    def _nonce(self, counter: int) -> str:
        raw = counter.to_bytes(8, "big")
        mac = hmac.new(self._key, b"dpop-nonce:" + raw, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(raw + mac).rstrip(b"=").decode()

    def current(self, now: float | None = None) -> str:
        """The nonce to hand out now (section 8.1, `DPoP-Nonce` header)."""
        return self._nonce(int((time.time() if now is None else now) // self.window))

    def is_valid(self, nonce: object, now: float | None = None) -> bool:
        """True for the nonce of this window or the one before (constant-time compare)."""
        if not isinstance(nonce, str) or len(nonce) > 64:
            return False
        counter = int((time.time() if now is None else now) // self.window)
        return any(hmac.compare_digest(nonce, self._nonce(c)) for c in (counter, counter - 1))
