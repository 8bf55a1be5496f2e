"""DPoP proofs (RFC 9449 4.2) for tests: any key, any claim, on purpose wrong when asked."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid

from joserfc import jws


def proof(key, method, url, *, access_token=None, typ="dpop+jwt", alg="ES256", iat=None,
          jti=None, jwk=None, **extra):
    header = {"typ": typ, "alg": alg, "jwk": jwk or key.as_dict(private=False)}
    claims = {"jti": jti or uuid.uuid4().hex, "htm": method, "htu": url,
              "iat": iat if iat is not None else int(time.time()), **extra}
    if access_token:
        digest = hashlib.sha256(access_token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return jws.serialize_compact(header, json.dumps(claims), key, algorithms=[alg])


def payload(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
