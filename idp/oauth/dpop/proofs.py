"""DPoP proofs (RFC 9449): check one, remember its `jti`, and compute what binds a token.

A proof is a JWT the client signs with a key whose public half rides in its header; a
token bound to that key (`cnf.jkt`, section 6) is useless without a fresh proof from it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from authlib.oauth2 import OAuth2Error
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.models.oauth import UsedAssertion

# Section 5.1: asymmetric algorithms only; advertised as dpop_signing_alg_values_supported.
DPOP_ALGS = ("ES256", "RS256", "PS256", "EdDSA")
IAT_WINDOW = 60  # seconds a proof's iat may be off our clock (section 11.1)
KEY_TYPES = {"EC": ECKey, "RSA": RSAKey, "OKP": OKPKey}
# The header carries the public key: an RSA 4096 jwk needs more than joserfc's 512 bytes.
REGISTRY = jws.JWSRegistry(algorithms=list(DPOP_ALGS))
REGISTRY.max_header_length = 2048


class DPoPError(Exception):
    """A proof failed a check of section 4.3; `error` is invalid_dpop_proof."""

    error = "invalid_dpop_proof"

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


class InvalidDPoPProofError(OAuth2Error):
    """Section 5: the token request's proof is missing or failed a check (400)."""

    error = "invalid_dpop_proof"


class UseDPoPNonceError(OAuth2Error):
    """Section 8: the proof must carry the server nonce sent in `DPoP-Nonce` (400)."""

    error = "use_dpop_nonce"

    def __init__(self, nonce: str, description: str):
        super().__init__(description=description)
        self.nonce = nonce

    def get_headers(self):
        return [*super().get_headers(), ("DPoP-Nonce", self.nonce)]


def token_hash(access_token: str) -> str:
    """`ath` (section 4.2): base64url SHA-256 of the access token."""
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _normalise(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", "", ""))


def _public_key(header: dict):
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or jwk.get("kty") not in KEY_TYPES:
        raise DPoPError("The proof header needs the public key as 'jwk'.")
    if any(name in jwk for name in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise DPoPError("The proof's 'jwk' must not contain a private key.")
    try:
        return KEY_TYPES[jwk["kty"]].import_key(jwk)
    except (JoseError, ValueError, TypeError):
        raise DPoPError("The proof's 'jwk' is not a usable key.") from None


def _verified(proof: str):
    try:
        header = jws.extract_compact(proof.encode(), registry=REGISTRY).headers()
    except (JoseError, ValueError, TypeError):
        raise DPoPError("The DPoP proof is not a compact JWS.") from None
    if header.get("typ") != "dpop+jwt":
        raise DPoPError("The proof's 'typ' must be 'dpop+jwt'.")
    if header.get("alg") not in DPOP_ALGS:
        raise DPoPError(f"The proof's 'alg' must be one of {', '.join(DPOP_ALGS)}.")
    key = _public_key(header)
    try:
        return key, jws.deserialize_compact(proof, key, algorithms=[header["alg"]],
                                            registry=REGISTRY)
    except (JoseError, ValueError):
        raise DPoPError("The proof's signature does not verify.") from None


def proof_alg(proof: str) -> str:
    """The `alg` of a proof that check_proof accepted."""
    return jws.extract_compact(proof.encode(), registry=REGISTRY).headers()["alg"]


def check_proof(proof: str | None, method: str, url: str,
                access_token: str | None = None) -> tuple[str, dict]:
    """Section 4.3 checks 1-11 but replay; returns (jkt, claims) or raises DPoPError."""
    if not proof or len(proof) > 8192:
        raise DPoPError("A DPoP proof is required.")
    key, verified = _verified(proof)
    try:
        claims = json.loads(verified.payload)
    except ValueError:
        raise DPoPError("The proof's payload is not JSON.") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("jti"), str) \
            or not 0 < len(claims["jti"]) <= 255:
        raise DPoPError("The proof needs a 'jti'.")
    if claims.get("htm") != method:
        raise DPoPError("The proof's 'htm' does not match the request method.")
    if not isinstance(claims.get("htu"), str) or _normalise(claims["htu"]) != _normalise(url):
        raise DPoPError("The proof's 'htu' does not match the request URL.")
    iat = claims.get("iat")
    if not isinstance(iat, int) or abs(time.time() - iat) > IAT_WINDOW:
        raise DPoPError("The proof's 'iat' is missing or outside the accepted window.")
    if access_token is not None and claims.get("ath") != token_hash(access_token):
        raise DPoPError("The proof's 'ath' does not match the access token.")
    return key.thumbprint(), claims


def note_proof(db: Session, jkt: str, claims: dict) -> bool:
    """Remember the proof's jti in the shared database (all workers); False on a replay."""
    expires = datetime.fromtimestamp(int(claims["iat"]) + IAT_WINDOW + 60, UTC)
    try:
        with db.begin_nested():
            db.add(UsedAssertion(client_id=f"dpop:{jkt}"[:64], jti=claims["jti"],
                                 expires_at=expires))
    except IntegrityError:
        return False
    return True


def accept_proof(db: Session, proof: str | None, method: str, url: str,
                 access_token: str | None = None) -> tuple[str, dict]:
    """check_proof plus replay detection (section 11.1); returns (jkt, claims)."""
    jkt, claims = check_proof(proof, method, url, access_token)
    if not note_proof(db, jkt, claims):
        raise DPoPError("The DPoP proof was already used.")
    return jkt, claims
