"""DPoP (RFC 9449) at the HTTP edge: the proof at /token, the scheme and proof at /userinfo."""

from __future__ import annotations

from flask import Response, g, has_request_context, request

from idp.extensions import db
from idp.http import oauth_json_error, services
from idp.oauth.dpop import DPOP_ALGS, DPoPError, accept_proof


def bearer_error(status: int, error: str, description: str) -> Response:
    """An RFC 6750 3 error with its WWW-Authenticate challenge."""
    response = oauth_json_error(status, error, description)
    response.headers["WWW-Authenticate"] = f'Bearer error="{error}", error_description="{description}"'
    return response


def check_token_proof() -> Response | None:
    """RFC 9449 5: a DPoP header at /token binds what is issued to the proof's key."""

    proofs = request.headers.getlist("DPoP")
    if not proofs:
        return None
    try:
        if len(proofs) != 1:
            raise DPoPError("Exactly one DPoP header is allowed.")
        g.dpop_jkt = accept_proof(db.session, proofs[0], "POST",
                                  services().config.issuer + "/token")
    except DPoPError as error:
        db.session.rollback()
        return oauth_json_error(400, error.error, error.description)
    return None


def binding_problem(scheme: str, value: str, claims: dict) -> Response | None:
    """RFC 9449 7: a bound token needs the DPoP scheme and a proof by its key."""

    jkt = (claims.get("cnf") or {}).get("jkt")
    if scheme == "bearer":
        if jkt is None:
            return None
        return bearer_error(401, "invalid_token", "A DPoP-bound token needs a DPoP proof.")
    try:
        proof_jkt = accept_proof(db.session, request.headers.get("DPoP"), request.method,
                                 services().config.issuer + "/userinfo", value)
    except DPoPError as error:
        db.session.commit()  # the proof's jti stays used
        return _dpop_error(error.error, error.description)
    db.session.commit()  # the proof's jti is now used, for every worker
    if jkt is None or proof_jkt != jkt:
        return _dpop_error("invalid_token", "The token is not bound to the proof's key.")
    return None


def _dpop_error(error: str, description: str) -> Response:

    response = oauth_json_error(401, error, description)
    response.headers["WWW-Authenticate"] = (f'DPoP error="{error}", error_description='
                                            f'"{description}", algs="{" ".join(DPOP_ALGS)}"')
    return response


def token_binding() -> dict:
    """`cnf` for a token issued on this request's checked DPoP proof (empty without one)."""
    # RFC 9449 6.1: a token issued on a DPoP proof names the proof key's thumbprint. The
    # token view checked the proof and left its thumbprint on `g`; the fast path never does.
    jkt = g.get("dpop_jkt") if has_request_context() else None
    return {"cnf": {"jkt": jkt}} if jkt else {}


def dpop_key() -> str | None:
    """The thumbprint of this /token request's checked DPoP proof, if any."""
    return token_binding().get("cnf", {}).get("jkt")


def token_type() -> str:
    """The token_type of the response: DPoP when bound (RFC 9449 5)."""
    return "DPoP" if token_binding() else "Bearer"
