"""The OpenID Connect client side: Authlib's OAuth2Client for the protocol, joserfc for the
ID token, and every upstream request through idp/outbound.py (IDP_OUTBOUND_ALLOW).

OpenID Connect Core 1.0 section 3.1 (code flow), RFC 7636 (PKCE), RFC 9207 (`iss` in the
authorization response), OpenID Connect Discovery 1.0 section 4.3 (issuer match).
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from authlib.common.security import generate_token
from authlib.oauth2.client import OAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from idp.federation.metadata_cache import UPSTREAM
from idp.models.federation import IdentityProvider
from idp.outbound import OutboundPolicy, OutboundRefused, fetch_json, send

log = logging.getLogger("idp.federation")
# Asymmetric algorithms only: "none" and HS* (keyed with the client secret) are refused.
ID_TOKEN_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                 "ES512", "EdDSA")
LEEWAY = 60  # seconds of clock skew accepted on exp / iat
MAX_DOCUMENT = 256 * 1024


class FederationError(Exception):
    """The upstream sign-in failed; `message` is for the person, `reason` for audit and log."""

    def __init__(self, reason: str, message: str = "The sign-in with your provider failed."):
        super().__init__(reason)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class _Response:
    """The little of a requests.Response that Authlib's client reads."""

    status_code: int
    body: bytes

    def json(self):
        return json.loads(self.body)

    def raise_for_status(self):
        if self.status_code >= 400:
            raise FederationError(f"token endpoint answered {self.status_code}")


class OutboundSession:
    """The HTTP session handed to Authlib's OAuth2Client: posts go through the guard."""

    def __init__(self, policy: OutboundPolicy):
        self.policy = policy

    def post(self, url, data=None, headers=None, auth=None, **_kwargs):
        body, headers = urlencode(data or {}), dict(headers or {})
        if auth is not None:  # Authlib's ClientAuth: client_secret_basic / _post / none
            url, headers, body = auth.prepare("POST", url, headers, body)
        try:
            answer = send(url, self.policy, method="POST", body=body.encode(), headers=headers,
                          max_bytes=MAX_DOCUMENT)
        except OutboundRefused as exc:
            raise FederationError(f"token endpoint: {exc.reason}") from None
        return _Response(answer.status, answer.body)


def add_query(url: str, params: dict) -> str:
    """`url` with `params` added to its query (an endpoint may carry one already)."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def client_for(provider: IdentityProvider, secret: str | None, policy: OutboundPolicy,
               redirect_uri: str) -> OAuth2Client:
    """Authlib's OAuth 2 client for this provider, its HTTP going through the guard."""
    return OAuth2Client(OutboundSession(policy), client_id=provider.client_id,
                        client_secret=secret,
                        token_endpoint_auth_method="client_secret_basic" if secret else "none",
                        scope=" ".join(provider.scopes), redirect_uri=redirect_uri,
                        code_challenge_method="S256")


def discover(provider: IdentityProvider, policy: OutboundPolicy) -> dict:
    """The upstream's discovery document, its issuer matching exactly (Discovery 4.3);
    cached for a bounded time (metadata_cache.py)."""
    return UPSTREAM.get(("discovery", provider.issuer, policy),
                        lambda: _fetch_discovery(provider, policy))


def _fetch_discovery(provider: IdentityProvider, policy: OutboundPolicy) -> dict:
    url = f"{provider.issuer}/.well-known/openid-configuration"
    try:
        meta = fetch_json(url, policy, max_bytes=MAX_DOCUMENT)
    except OutboundRefused as exc:
        raise FederationError(f"discovery: {exc.reason}",
                              "Your provider could not be reached. Try again later.") from None
    if not isinstance(meta, dict) or meta.get("issuer") != provider.issuer:
        raise FederationError("discovery issuer does not match the configured issuer")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(key), str):
            raise FederationError(f"discovery has no {key}")
    return meta


def _upstream_keys(jwks_uri: str, policy: OutboundPolicy, kid: str | None) -> KeySet:
    """The upstream JWKS, cached; fetched again when it lacks the token's `kid` (the
    upstream rotated its keys since we cached it)."""
    def fetch():
        return KeySet.import_key_set(fetch_json(jwks_uri, policy, MAX_DOCUMENT))

    keys = UPSTREAM.get(("jwks", jwks_uri, policy), fetch)
    if kid is not None and kid not in {key.kid for key in keys.keys}:
        keys = UPSTREAM.get(("jwks", jwks_uri, policy), fetch, refresh=True)
    return keys


def start(provider: IdentityProvider, secret: str | None, policy: OutboundPolicy,
          redirect_uri: str, login_hint: str | None = None) -> tuple[str, dict]:
    """The upstream authorization URL and what the callback must find again."""
    meta = discover(provider, policy)
    verifier, nonce = generate_token(64), generate_token(32)
    extra = {"login_hint": login_hint} if login_hint else {}
    url, state = client_for(provider, secret, policy, redirect_uri).create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra)
    return url, {"state": state, "nonce": nonce, "verifier": verifier}


def _check_response(provider: IdentityProvider, meta: dict, saved: dict, args: dict) -> str:
    """The code, once state and (RFC 9207) iss are right; the upstream's error otherwise."""
    _check_state_only(saved, args)
    # RFC 9207 section 2.4: check iss when the upstream advertises it (and whenever sent).
    if meta.get("authorization_response_iss_parameter_supported") or "iss" in args:
        if args.get("iss") != provider.issuer:
            raise FederationError("iss in the authorization response does not match")
    return check_state(saved, args)


def _check_state_only(saved: dict, args: dict) -> None:
    expected = str(saved.get("state") or "")
    if not expected or not hmac.compare_digest(str(args.get("state") or ""), expected):
        raise FederationError("state mismatch", "This sign-in link is stale or was tampered "
                              "with. Start again from the sign-in page.")


def check_state(saved: dict, args: dict) -> str:
    """RFC 6749 10.12: the state we sent; then the upstream's error, or the code."""
    _check_state_only(saved, args)
    if args.get("error"):
        description = str(args.get("error_description") or "")[:200]
        raise FederationError(f"upstream error {str(args['error'])[:64]}: {description}",
                              f"Your provider refused the sign-in: {description or args['error']}")
    if not args.get("code"):
        raise FederationError("no code in the authorization response")
    return str(args["code"])


def _check_id_token(provider: IdentityProvider, meta: dict, policy: OutboundPolicy,
                    id_token: str, nonce: str) -> dict:
    """OIDC Core 3.1.3.7: signature (the upstream JWKS, cached and re-read for an unknown
    kid so rotation just works), iss, aud, azp, exp, iat, nonce."""
    try:
        kid = extract_compact(id_token.encode()).headers().get("kid")
        keys = _upstream_keys(meta["jwks_uri"], policy, kid if isinstance(kid, str) else None)
        token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGS))
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY, iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": provider.client_id}, exp={"essential": True},
            iat={"essential": True}, sub={"essential": True},
            nonce={"essential": True, "value": nonce}).validate(token.claims)
    except OutboundRefused as exc:
        raise FederationError(f"jwks: {exc.reason}") from None
    except (JoseError, ValueError, TypeError) as exc:
        raise FederationError(f"id_token refused: {exc.__class__.__name__}: {exc}") from None
    claims = token.claims
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(aud) > 1 or "azp" in claims) and claims.get("azp") != provider.client_id:
        raise FederationError("id_token azp is not our client_id")
    return dict(claims)


def _userinfo(meta: dict, policy: OutboundPolicy, access_token: str, sub: str) -> dict:
    """UserInfo claims (Core 5.3), only when they belong to the same subject (5.3.2)."""
    try:
        answer = send(meta["userinfo_endpoint"], policy, max_bytes=MAX_DOCUMENT,
                      headers={"Authorization": f"Bearer {access_token}",
                               "Accept": "application/json"})
        data = json.loads(answer.body) if answer.status == 200 else {}
    except (OutboundRefused, ValueError):
        log.warning("upstream userinfo could not be read")
        return {}
    return data if isinstance(data, dict) and data.get("sub") == sub else {}


def finish(provider: IdentityProvider, secret: str | None, policy: OutboundPolicy,
           redirect_uri: str, saved: dict, args: dict) -> dict:
    """Check the callback, redeem the code with its PKCE verifier, check the ID token;
    returns the person's claims (UserInfo filling in what the ID token lacks)."""
    meta = discover(provider, policy)
    code = _check_response(provider, meta, saved, args)
    try:
        token = client_for(provider, secret, policy, redirect_uri).fetch_token(
            meta["token_endpoint"], grant_type="authorization_code", code=code,
            code_verifier=saved["verifier"])
    except OAuth2Error as exc:
        raise FederationError(f"token endpoint: {exc.error}") from None
    except ValueError as exc:
        raise FederationError(f"token endpoint: {exc}") from None
    if not isinstance(token.get("id_token"), str):
        raise FederationError("no id_token in the token response")
    claims = _check_id_token(provider, meta, policy, token["id_token"], saved["nonce"])
    wanted = {"email", "name", *(["groups"] if provider.groups else [])}
    if not wanted <= set(claims) and meta.get("userinfo_endpoint") \
            and token.get("access_token"):
        extra = _userinfo(meta, policy, str(token["access_token"]), claims["sub"])
        claims = {**extra, **claims}
    # For ending the upstream session at our logout (federation/logout.py); not a claim.
    return {**claims, "upstream_id_token": token["id_token"]}
