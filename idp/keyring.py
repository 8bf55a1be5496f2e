"""The master key in `keys/` and the keys derived from it.

One random 32-byte master key is generated on first start (mode 0600, created with
O_EXCL so concurrent first starts agree). Purpose-bound subkeys are derived with HKDF:
the data-encryption key (AES-GCM, secrets at rest), the cookie-signing key, and the
HMAC key for client secrets. The master key never enters the database.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASTER_KEY_FILE = "master.key"


def _load_or_create_master(keys_dir: Path) -> bytes:
    keys_dir.mkdir(parents=True, exist_ok=True)
    path = keys_dir / MASTER_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_bytes()
        if len(data) != 32:
            raise RuntimeError(f"{path} is damaged: expected 32 bytes, found {len(data)}") from None
        return data
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class Keyring:
    master: bytes

    @classmethod
    def from_dir(cls, keys_dir: str | Path) -> Keyring:
        """Load the master key from `keys_dir`, generating it on first start."""
        return cls(_load_or_create_master(Path(keys_dir)))

    def derive(self, purpose: str) -> bytes:
        """A 32-byte subkey bound to `purpose`."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=f"idp:{purpose}".encode()).derive(self.master)

    @cached_property
    def cookie_key(self) -> bytes:
        return self.derive("cookie-signing")

    @cached_property
    def client_secret_key(self) -> bytes:
        return self.derive("client-secret-hmac")

    @cached_property
    def _aead(self) -> AESGCM:
        return AESGCM(self.derive("data-encryption"))

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        """AES-GCM with a random nonce; `context` is bound as associated data."""
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, context: str) -> bytes:
        """Reverse `encrypt`; raises InvalidTag when the blob or context was altered."""
        return self._aead.decrypt(blob[:12], blob[12:], context.encode())
