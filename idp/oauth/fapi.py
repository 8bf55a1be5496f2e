"""The FAPI 2.0 Security Profile (final, 2025) as a per-client switch: every rule in one place.

A client registered with `security_profile = "fapi2"` is held to section 5.3.2 (the
authorization server's duties) as far as this provider can: mTLS is not offered, so its
tokens are sender-constrained by DPoP and it authenticates with `private_key_jwt`.
Registration, /par, /authorize and /token call these functions; docs/security.md lists
what they enforce.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import InvalidRequestError

from idp.errors import ValidationFailed
from idp.oauth.dpop.proofs import InvalidDPoPProofError

FAPI2 = "fapi2"
SECURITY_PROFILES = (FAPI2,)
# 5.3.2.1: authorization codes live at most 60 seconds.
MAX_CODE_TTL = 60
# 5.4.1: PS256, ES256 or EdDSA for every signature (no RS256, no symmetric algorithms).
FAPI_ALGS = ("PS256", "ES256", "EdDSA")
# What we can sign ID and access tokens with, among FAPI_ALGS.
FAPI_TOKEN_ALGS = ("ES256",)


def check_registration(profile: str | None, *, public: bool, auth_method: str,
                       token_alg: str, grant_types: list[str]) -> None:
    """Registration rules of a FAPI 2.0 client; ValidationFailed names the field."""
    if profile is None:
        return
    if profile not in SECURITY_PROFILES:
        raise ValidationFailed(f"security_profile must be one of {list(SECURITY_PROFILES)} "
                               "or empty.", field="security_profile")
    if public or auth_method != "private_key_jwt":
        # 5.3.2.1: confidential clients only, authenticated by private_key_jwt (or mTLS,
        # which this provider does not offer); client_secret_* is refused.
        raise ValidationFailed("A FAPI 2.0 client authenticates with private_key_jwt.",
                               field="auth_method")
    if token_alg not in FAPI_TOKEN_ALGS:
        raise ValidationFailed("A FAPI 2.0 client's tokens are signed with ES256 (5.4.1).",
                               field="token_alg")
    if "authorization_code" not in grant_types:
        raise ValidationFailed("A FAPI 2.0 client uses the authorization code grant.",
                               field="grant_types")


def requires_par(client, require_par_globally: bool) -> bool:
    """RFC 9126 5 globally or per client; FAPI 2.0 5.3.2.1 for its clients."""
    return require_par_globally or client.require_pushed_authorization_requests \
        or client.is_fapi2


def code_ttl(client, configured: int) -> int:
    """Seconds an authorization code lives: at most 60 for a FAPI 2.0 client."""
    return min(configured, MAX_CODE_TTL) if client.is_fapi2 else configured


def check_authorization_request(client, params: dict) -> None:
    """5.3.2.1 and 5.3.2.2 at /par: redirect_uri and PKCE S256 are required (implicit and
    hybrid flows are refused for every client: response_types_supported is only code)."""
    if not client.is_fapi2:
        return
    if not params.get("redirect_uri"):
        raise InvalidRequestError("A FAPI 2.0 client must send 'redirect_uri' in its "
                                  "pushed request.")
    if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
        raise InvalidRequestError("A FAPI 2.0 client must use PKCE with S256.")


def check_token_request(client, dpop_alg: str | None) -> None:
    """5.3.2.1: sender-constrained tokens only, here by DPoP with a FAPI algorithm."""
    if not client.is_fapi2:
        return
    if dpop_alg is None:
        raise InvalidDPoPProofError(description="A FAPI 2.0 client must send a DPoP proof: "
                                                "its tokens are sender-constrained.")
    if dpop_alg not in FAPI_ALGS:
        raise InvalidDPoPProofError(description="A FAPI 2.0 client signs DPoP proofs with "
                                                f"one of {', '.join(FAPI_ALGS)}.")
