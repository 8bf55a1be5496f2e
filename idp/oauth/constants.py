"""Protocol names used in more than one place: one home, so the copies cannot drift."""

from __future__ import annotations

# The scope a service client (or a person's token) needs for the admin API.
ADMIN_SCOPE = "idp:admin"
# The scope a service client needs for SCIM provisioning (/scim/v2, RFC 7644).
SCIM_SCOPE = "idp:scim"
# Scopes whose tokens are for this provider itself (audience = the issuer).
OWN_API_SCOPES = frozenset({ADMIN_SCOPE, SCIM_SCOPE})
# RFC 6749 grants we implement.
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 3.4
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693 2.1
GRANT_TYPES = frozenset({"authorization_code", "refresh_token", "client_credentials",
                         DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT})
# RFC 7591 / OIDC token endpoint authentication methods; "none" is for public clients.
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
CONFIDENTIAL_AUTH_METHODS = tuple(m for m in CLIENT_AUTH_METHODS if m != "none")
# JWS algorithms we sign with and accept for our own tokens (RS256 is required by OIDC).
SIGNING_ALGS = ("RS256", "ES256")
