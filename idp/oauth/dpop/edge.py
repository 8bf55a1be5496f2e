"""DPoP (RFC 9449) at the HTTP edge: proofs at /token, /introspect, /revoke and /userinfo,
server nonces (sections 8 and 9), and what a checked proof binds."""

from __future__ import annotations

from flask import Response, g, has_request_context, request

from idp.extensions import db
from idp.http import oauth_json_error, services
from idp.oauth import fapi
from idp.oauth.dpop.proofs import (
    DPOP_ALGS,
    DPoPError,
    UseDPoPNonceError,
    accept_proof,
    proof_alg,
)

NONCE_HEADER = "DPoP-Nonce"


def bearer_error(status: int, error: str, description: str) -> Response:
    """An RFC 6750 3 error with its WWW-Authenticate challenge."""
    response = oauth_json_error(status, error, description)
    response.headers["WWW-Authenticate"] = f'Bearer error="{error}", error_description="{description}"'
    return response


def check_request_proof(path: str) -> Response | None:
    """Section 4.3 at /token (5), /introspect and /revoke: a DPoP header, when sent, must be
    one valid, unused proof for this endpoint; its key and claims stay on `g` for the
    checks that need the client (nonce, FAPI 2.0) and for binding what is issued."""

    proofs = request.headers.getlist("DPoP")
    if not proofs:
        return None
    try:
        if len(proofs) != 1:
            raise DPoPError("Exactly one DPoP header is allowed.")
        # The jti is recorded where every worker looks (section 11.1).
        jkt, claims = accept_proof(db.session, proofs[0], "POST",
                                   services().config.issuer + path)
    except DPoPError as error:
        db.session.rollback()
        return oauth_json_error(400, error.error, error.description)
    g.dpop_jkt, g.dpop_claims, g.dpop_alg = jkt, claims, proof_alg(proofs[0])
    return None


def nonce_required(client) -> bool:
    """Section 8: server nonces for every client (IDP_DPOP_NONCE) or for this one."""
    return services().config.dpop_nonce or bool(client and client.require_dpop_nonce)


def check_client_proof(client, endpoint: str) -> None:
    """After the client authenticated: its proof's nonce (section 8) and, at /token, the
    FAPI 2.0 rule that tokens are DPoP-bound. Raises an OAuth2Error."""
    claims = g.get("dpop_claims")
    if claims is not None and nonce_required(client):
        g.dpop_nonce_due = True
        nonces = services().server.dpop_nonces
        if not nonces.is_valid(claims.get("nonce")):
            raise UseDPoPNonceError(nonces.current(),
                                    "Authorization server requires nonce in DPoP proof.")
    if endpoint == "token":
        fapi.check_token_request(client, g.get("dpop_alg"))


def with_fresh_nonce(response: Response) -> Response:
    """Section 8.2: a response to a nonce-using request names the current nonce, so the
    client follows the rotation without an error first."""
    if g.get("dpop_nonce_due") and NONCE_HEADER not in response.headers:
        response.headers[NONCE_HEADER] = services().server.dpop_nonces.current()
    return response


def binding_problem(scheme: str, value: str, claims: dict) -> Response | None:
    """Section 7: a bound token needs the DPoP scheme and a proof by its key; section 9:
    a nonce when the token's client requires one."""

    jkt = (claims.get("cnf") or {}).get("jkt")
    if scheme == "bearer":
        if jkt is None:
            return None
        return bearer_error(401, "invalid_token", "A DPoP-bound token needs a DPoP proof.")
    try:
        proof_jkt, proof_claims = accept_proof(db.session, request.headers.get("DPoP"),
                                               request.method,
                                               services().config.issuer + "/userinfo", value)
    except DPoPError as error:
        db.session.commit()  # the proof's jti stays used
        return _dpop_error(error.error, error.description)
    db.session.commit()  # the proof's jti is now used, for every worker
    if jkt is None or proof_jkt != jkt:
        return _dpop_error("invalid_token", "The token is not bound to the proof's key.")
    if nonce_required(services().server.clients.get(claims.get("client_id") or "")):
        g.dpop_nonce_due = True
        if not services().server.dpop_nonces.is_valid(proof_claims.get("nonce")):
            return _dpop_error("use_dpop_nonce",
                               "Resource server requires nonce in DPoP proof.")
    return None


def _dpop_error(error: str, description: str) -> Response:

    response = oauth_json_error(401, error, description)
    response.headers["WWW-Authenticate"] = (f'DPoP error="{error}", error_description='
                                            f'"{description}", algs="{" ".join(DPOP_ALGS)}"')
    return with_fresh_nonce(response)


def token_binding() -> dict:
    """`cnf` for a token issued on this request's checked DPoP proof (empty without one)."""
    # RFC 9449 6.1: a token issued on a DPoP proof names the proof key's thumbprint. The
    # token view checked the proof and left its thumbprint on `g`; the fast path never does.
    jkt = g.get("dpop_jkt") if has_request_context() else None
    return {"cnf": {"jkt": jkt}} if jkt else {}


def dpop_key() -> str | None:
    """The thumbprint of this request's checked DPoP proof, if any."""
    return token_binding().get("cnf", {}).get("jkt")


def token_type() -> str:
    """The token_type of the response: DPoP when bound (RFC 9449 5)."""
    return "DPoP" if token_binding() else "Bearer"
