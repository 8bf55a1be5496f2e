"""Bearer tokens for the admin API, in one place so the check can be swapped.

The token must be one of ours (signature, `typ`, issuer, audience = the provider, expiry:
`idp.resource.ResourceProtector`, RFC 9068 4), carry the `idp:admin` scope, and still be
active (client not revoked, token not revoked: `check_access_token`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from idp.oauth.constants import ADMIN_SCOPE
from idp.oauth.tokens.validation import ValidAccessToken, check_access_token
from idp.resource import ResourceProtector, TokenError


def validate_admin_token(db: Session, keys, issuer: str, token: str,
                         scope: str = ADMIN_SCOPE) -> ValidAccessToken:
    """The active token with the admin scope (SCIM: `idp:scim`), or TokenError (RFC 6750 3.1)."""
    protector = ResourceProtector(issuer, audience=issuer, key_source=keys.verification_key)
    protector.validate(token, [scope])
    valid = check_access_token(db, keys, issuer, token)
    if valid is None:
        raise TokenError("invalid_token", "The access token is no longer active.", 401)
    return valid
