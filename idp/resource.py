"""Validate our access tokens in another service (Flask or any WSGI app), locally.

    from idp.resource import ResourceProtector

    protect = ResourceProtector(issuer="https://id.example.com",
                                audience="https://api.example.com")

    @app.get("/invoices")
    @protect.require("invoices:read")
    def invoices():
        return {"client": protect.claims()["client_id"]}

The JWKS is fetched from the issuer's discovery document and cached; an unknown `kid`
triggers a refetch (at most once per `min_refetch_interval`), so a key rotation at the
provider is picked up without a restart. Checks (RFC 9068 4): `typ` at+jwt, signature
with an allowed algorithm, `iss`, `aud`, `exp`/`iat`/`nbf` with a small leeway, and the
route's scopes. Errors follow RFC 6750 3: 401 `invalid_token`, 403 `insufficient_scope`.
A DPoP-bound token (`cnf.jkt`, RFC 9449) is accepted only with `Authorization: DPoP` and a
proof by its key (htm, htu, iat, ath checked; each proof once per process). With
`dpop_nonce_key` (16 bytes or more, the same in every instance of the service) proofs must
also carry a server nonce (section 9): a proof without a current one gets 401
`use_dpop_nonce` with the nonce in `DPoP-Nonce`.
A token stays valid until it expires (10 minutes by default): resource servers that
validate locally do not see a revocation before then; call introspection when that
window matters.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from functools import wraps

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.oauth.constants import SIGNING_ALGS
from idp.oauth.dpop.nonce import NonceSource

DEFAULT_ALGORITHMS = SIGNING_ALGS


class TokenError(Exception):
    """A bearer token was refused; `error` is the RFC 6750 code, `status` the HTTP status."""

    def __init__(self, error: str, description: str, status: int, scope: str | None = None,
                 scheme: str = "Bearer", nonce: str | None = None):
        super().__init__(description)
        self.error, self.description, self.status, self.scope = error, description, status, scope
        self.scheme = scheme  # "DPoP" for proof problems (RFC 9449 7.1)
        self.nonce = nonce  # RFC 9449 9: sent as DPoP-Nonce with use_dpop_nonce

    def headers(self) -> list[tuple[str, str]]:
        """WWW-Authenticate, and DPoP-Nonce when the client must use a new nonce."""
        extra = [("DPoP-Nonce", self.nonce)] if self.nonce else []
        return [("WWW-Authenticate", self.www_authenticate()), *extra]

    def www_authenticate(self) -> str:
        if self.error == "missing_token":
            return "Bearer"  # RFC 6750 3.1: no error code when no credentials were sent
        value = f'{self.scheme} error="{self.error}", error_description="{self.description}"'
        if self.scope:
            value += f', scope="{self.scope}"'
        return value


def _invalid(description: str) -> TokenError:
    return TokenError("invalid_token", description, 401)


class RemoteJWKS:
    """The issuer's keys, fetched over HTTP (timeouts, no redirects) and cached."""

    def __init__(self, issuer: str, jwks_uri: str | None = None, cache_seconds: float = 300,
                 min_refetch_interval: float = 30, session=None):
        # requests is imported here, not at module level: our own admin API uses this
        # module with in-process keys and never fetches.
        import requests

        self.issuer, self._jwks_uri = issuer.rstrip("/"), jwks_uri
        self.cache_seconds, self.min_refetch_interval = cache_seconds, min_refetch_interval
        self._http = session or requests.Session()
        self._fetch_errors = (requests.RequestException, ValueError, KeyError)
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def _get_json(self, url: str) -> dict:
        response = self._http.get(url, timeout=(2, 3), allow_redirects=False)
        response.raise_for_status()
        return response.json()

    def _refresh(self) -> None:
        if self._jwks_uri is None:
            meta = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            self._jwks_uri = meta["jwks_uri"]
        self._keys = KeySet.import_key_set(self._get_json(self._jwks_uri))
        self._fetched_at = time.monotonic()

    def key(self, kid: str):
        """The key with this kid; refetches when stale or unknown (rate-limited)."""
        with self._lock:
            age = time.monotonic() - self._fetched_at
            known = self._keys is not None and any(k.kid == kid for k in self._keys.keys)
            if self._keys is None or age > self.cache_seconds or (
                    not known and age > self.min_refetch_interval):
                try:
                    self._refresh()
                except self._fetch_errors:
                    if self._keys is None:
                        raise _invalid("The issuer's keys are unavailable.") from None
            for key in self._keys.keys:
                if key.kid == kid:
                    return key
        return None


class ResourceProtector:
    """Validates RFC 9068 access tokens from one issuer for one audience."""

    def __init__(self, issuer: str, audience: str | Iterable[str], *,
                 jwks_uri: str | None = None, key_source: Callable[[str], object] | None = None,
                 algorithms: Iterable[str] = DEFAULT_ALGORITHMS, leeway: int = 30,
                 min_refetch_interval: float = 30, dpop_nonce_key: bytes | None = None):
        self.issuer = issuer.rstrip("/")
        self._nonces = NonceSource(dpop_nonce_key) if dpop_nonce_key else None
        self.audiences = {audience} if isinstance(audience, str) else set(audience)
        self.algorithms = list(algorithms)
        self.leeway = leeway
        if key_source is None:
            key_source = RemoteJWKS(self.issuer, jwks_uri,
                                    min_refetch_interval=min_refetch_interval).key
        self._key_source = key_source
        self._seen = _SeenProofs()

    def _resolve_key(self, obj):
        key = self._key_source(obj.headers().get("kid", ""))
        if key is None:
            raise _invalid("The token was signed by an unknown key.")
        return key

    def validate(self, token: str, scopes: Iterable[str] = ()) -> dict:
        """The token's claims, or TokenError."""
        if not token:
            raise TokenError("missing_token", "An access token is required.", 401)
        if token.count(".") != 2:
            raise _invalid("The access token is malformed.")
        try:
            decoded = jwt.decode(token, self._resolve_key, algorithms=self.algorithms)
        except TokenError:
            raise
        except (JoseError, ValueError, TypeError):
            raise _invalid("The access token signature is invalid.") from None
        if str(decoded.header.get("typ", "")).lower() not in {"at+jwt", "application/at+jwt"}:
            raise _invalid("The token is not an access token (typ).")
        self._check_claims(decoded.claims)
        granted = set(str(decoded.claims.get("scope", "")).split())
        missing = [s for s in scopes if s not in granted]
        if missing:
            raise TokenError("insufficient_scope", "The token lacks a required scope.", 403,
                             scope=" ".join(scopes))
        return decoded.claims

    def _check_claims(self, claims: dict) -> None:
        now = time.time()
        if claims.get("iss") != self.issuer:
            raise _invalid("The token was issued by someone else.")
        aud = claims.get("aud")
        auds = {aud} if isinstance(aud, str) else set(aud or [])
        if not auds & self.audiences:
            raise _invalid("The token is meant for another audience.")
        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
        if not isinstance(exp, int | float) or exp + self.leeway < now:
            raise _invalid("The token has expired.")
        if isinstance(iat, int | float) and iat - self.leeway > now:
            raise _invalid("The token was issued in the future.")
        if isinstance(nbf, int | float) and nbf - self.leeway > now:
            raise _invalid("The token is not valid yet.")

    def check_binding(self, claims: dict, scheme: str, token: str, proof: str | None,
                      method: str, url: str) -> None:
        """RFC 9449 7: a DPoP-bound token (`cnf.jkt`) only with the DPoP scheme and a fresh
        proof by its key; the proof's jti is remembered by this process (replay)."""
        from idp.oauth.dpop.proofs import DPoPError, check_proof

        jkt = (claims.get("cnf") or {}).get("jkt")
        if scheme == "bearer":
            if jkt:
                raise _invalid("A DPoP-bound token needs the DPoP scheme and a proof.")
            return
        try:
            proof_jkt, proof_claims = check_proof(proof, method, url, token)
        except DPoPError as exc:
            raise TokenError("invalid_dpop_proof", exc.description, 401, scheme="DPoP") from None
        if jkt is None or proof_jkt != jkt:
            raise TokenError("invalid_token", "The token is not bound to the proof's key.", 401,
                             scheme="DPoP")
        if not self._seen.add(f"{proof_jkt}:{proof_claims['jti']}"):
            raise TokenError("invalid_dpop_proof", "The DPoP proof was already used.", 401,
                             scheme="DPoP")
        if self._nonces is not None and not self._nonces.is_valid(proof_claims.get("nonce")):
            raise TokenError("use_dpop_nonce", "Resource server requires nonce in DPoP proof.",
                             401, scheme="DPoP", nonce=self._nonces.current())

    def _checked(self, headers, method: str, url: str, scopes) -> dict:
        scheme, token = presented_token(headers)
        claims = self.validate(token, scopes)
        self.check_binding(claims, scheme, token, headers.get("DPoP"), method, url)
        return claims

    # --- Flask ----------------------------------------------------------------------
    def require(self, *scopes: str):
        """Flask view decorator: 401/403 with RFC 6750 errors unless the token carries `scopes`."""

        def decorator(view):
            @wraps(view)
            def wrapper(*args, **kwargs):
                from flask import g, request

                try:
                    g.idp_token_claims = self._checked(request.headers, request.method,
                                                       request.base_url, scopes)
                except TokenError as exc:
                    return _flask_error(exc)
                return view(*args, **kwargs)

            return wrapper

        return decorator

    @staticmethod
    def claims() -> dict:
        """Inside a protected Flask view: the validated claims."""
        from flask import g

        return g.idp_token_claims

    # --- any WSGI app ------------------------------------------------------------------
    def wsgi(self, app, scopes: Iterable[str] = ()):
        """Wrap a WSGI app: refuses requests without a valid token; claims in environ."""
        scopes = tuple(scopes)

        def middleware(environ, start_response):
            try:
                from wsgiref.util import request_uri

                headers = {"Authorization": environ.get("HTTP_AUTHORIZATION", ""),
                           "DPoP": environ.get("HTTP_DPOP")}
                environ["idp.token_claims"] = self._checked(
                    headers, environ.get("REQUEST_METHOD", "GET"),
                    request_uri(environ, include_query=False), scopes)
            except TokenError as exc:
                body = json.dumps({"error": exc.error, "error_description": exc.description}).encode()
                start_response(f"{exc.status} {'Unauthorized' if exc.status == 401 else 'Forbidden'}",
                               [("Content-Type", "application/json"), *exc.headers(),
                                ("Content-Length", str(len(body)))])
                return [body]
            return app(environ, start_response)

        return middleware


def presented_token(headers) -> tuple[str, str]:
    """('dpop' | 'bearer', token) from the Authorization header; ('bearer', '') when none."""
    value = headers.get("Authorization", "") or ""
    if value[:5].lower() == "dpop ":
        return "dpop", value[5:].strip()
    return "bearer", bearer_token(headers)


class _SeenProofs:
    """DPoP proof ids this process has accepted, kept for the proof window (RFC 9449 11.1)."""

    def __init__(self, ttl: float = 180):
        self._ttl, self._seen, self._lock = ttl, {}, threading.Lock()

    def add(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10000:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
            if self._seen.get(key, 0) > now:
                return False
            self._seen[key] = now + self._ttl
            return True


def bearer_token(headers) -> str:
    """The token from an `Authorization: Bearer ...` header, or ''."""
    value = headers.get("Authorization", "") or ""
    return value[7:].strip() if value[:7].lower() == "bearer " else ""


def _flask_error(exc: TokenError):
    from flask import jsonify

    response = jsonify({"error": exc.error, "error_description": exc.description})
    response.status_code = exc.status
    for name, value in exc.headers():
        response.headers[name] = value
    return response
