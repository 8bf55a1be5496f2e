"""The client-credentials decision (RFC 6749 4.4, RFC 8707): may this client have a token
for this scope and these resources, and for which audience.

One `check()` for the Authlib grant (`grants.ClientCredentialsGrant`) and the WSGI fast
path (`token_fast_path`), so the two cannot decide differently.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import InvalidScopeError, UnauthorizedClientError

from idp.oauth.constants import OWN_API_SCOPES
from idp.oauth.tokens.service import InvalidTargetError

GRANT_TYPE = "client_credentials"


def check(client, scope: str | None, resources: list[str], issuer: str) -> str | list[str]:
    """The `aud` of the token; an OAuth2Error when the client may not have it."""
    if not client.check_grant_type(GRANT_TYPE):
        raise UnauthorizedClientError(f"The client may not use 'grant_type={GRANT_TYPE}'.")
    if scope and not set(scope.split()) <= set(client.scopes):
        raise InvalidScopeError("The requested scope exceeds what this client may ask for.")
    return token_audience(client, resources, scope, issuer)


def token_audience(client, resources: list[str], scope: str | None,
                   issuer: str) -> str | list[str]:
    """The `aud` of a client-credentials token; InvalidTargetError for a resource the
    client may not ask for.

    Default: our own APIs (the issuer) for `idp:admin` and `idp:scim`, the client's single
    allowed audience, or else the client itself.
    """
    if not resources:
        if OWN_API_SCOPES & set((scope or "").split()):
            return issuer
        return client.audiences[0] if len(client.audiences) == 1 else client.id
    for resource in resources:
        if resource not in client.audiences:
            raise InvalidTargetError(f"The resource {resource!r} is not allowed for this client.")
    return resources[0] if len(resources) == 1 else list(resources)


def may_introspect(caller, owner_id: str, clients) -> bool:
    """RFC 7662 2.1: the token's own client, or a client of the same tenant (a resource
    server registered with us), may introspect a token; `clients.get` loads the owner."""
    if owner_id == caller.id:
        return True
    owner = clients.get(owner_id)
    return owner is not None and owner.tenant_id == caller.tenant_id
