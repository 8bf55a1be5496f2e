"""Request objects (RFC 9101): authorization parameters in a JWT signed by the client.

The object is verified with the client's registered keys (the same resolution as
`private_key_jwt`), must name the client as `iss` and `client_id` and us as `aud`, and its
claims replace the query parameters of the same name (section 6.3: the object wins).
`request_uri` is accepted only for pushed requests (RFC 9126), never fetched.
"""

from __future__ import annotations

import json
import time

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from joserfc import jwt
from joserfc.errors import JoseError

from idp.oauth.clients.authentication import PrivateKeyJWT

# Asymmetric only: a shared-secret HMAC would let the server forge the client's requests.
REQUEST_OBJECT_ALGS = ("RS256", "ES256", "PS256")
MAX_LIFETIME = 3600  # seconds between nbf/iat and exp we accept (FAPI asks for at most 60 min)


class InvalidRequestObjectError(InvalidRequestError):
    error = "invalid_request_object"


def _decode(raw: str, keys):
    try:
        token = jwt.decode(raw, keys, algorithms=list(REQUEST_OBJECT_ALGS))
    except (JoseError, ValueError, TypeError):
        raise InvalidRequestObjectError("The request object's signature does not verify.") \
            from None
    return token.claims


def resolve_request_object(server, client, raw: str, outer: dict) -> dict:
    """The effective parameters: the outer ones overridden by the verified object's claims."""

    if not client.jwks and not client.jwks_uri:
        raise InvalidRequestObjectError("The client has no registered keys for request objects.")
    keys = PrivateKeyJWT(server).resolve_client_public_key(client)
    claims = _decode(raw, keys)
    aud = claims.get("aud")
    auds = [aud] if isinstance(aud, str) else (aud or [])
    if claims.get("iss") != client.id or server.config.issuer not in auds:
        raise InvalidRequestObjectError("The request object needs 'iss' = client_id and 'aud' "
                                        "= the issuer.")
    if claims.get("client_id", client.id) != client.id:
        raise InvalidRequestObjectError("The request object names another client.")
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, int) or exp < time.time()):
        raise InvalidRequestObjectError("The request object has expired.")
    if "request" in claims or "request_uri" in claims:
        raise InvalidRequestObjectError("A request object cannot nest 'request' or 'request_uri'.")
    params = {k: v for k, v in outer.items() if k != "request"}
    params.update({k: v if isinstance(v, str) else _as_param(v) for k, v in claims.items()
                   if k not in ("iss", "aud", "exp", "iat", "nbf", "jti")})
    return params


def _as_param(value) -> str:

    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else str(value)
