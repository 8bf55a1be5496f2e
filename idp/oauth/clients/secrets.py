"""Client secrets: full-entropy, prefixed, stored as HMAC-SHA-256 under a server key.

A slow password hash would be wrong here: the secret has 256 bits of entropy, so a keyed
fast hash is as strong and keeps the token endpoint fast.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from idp.models.oauth import Client, ClientSecret

SECRET_PREFIX = "idp_sk_"


def generate_client_secret() -> str:
    """256 bits from the CSPRNG, prefixed so a leaked secret is recognisable."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def digest_client_secret(key: bytes, secret: str) -> str:
    """The stored form of a secret."""
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def new_secret_row(key: bytes, secret: str, now: datetime) -> ClientSecret:
    """A ClientSecret row for a freshly generated secret."""
    return ClientSecret(digest=digest_client_secret(key, secret), hint=secret[-4:],
                        created_at=now)


def match_client_secret(key: bytes, client: Client, secret: str, now: datetime) -> ClientSecret | None:
    """The live secret row equal to `secret` (constant-time compare against each)."""
    candidate = digest_client_secret(key, secret)
    found = None
    for row in client.secrets:
        if row.expires_at is not None and row.expires_at <= now:
            continue
        if hmac.compare_digest(row.digest, candidate):
            found = row
    return found
