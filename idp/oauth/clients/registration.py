"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

RFC 7591 metadata is translated into the same `ClientSpec` the CLI, admin API and console
register with, and `create_client` / `update_client` apply the one set of client rules;
this module adds only what registration itself needs: the initial access token's policy,
the registration access token, and the RFC's error names.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from idp.audit import EventType, Outcome, record
from idp.errors import ValidationFailed
from idp.keyring import Keyring
from idp.models.oauth import Client
from idp.models.registration import ClientRegistration, InitialAccessToken
from idp.models.tenancy import Tenant
from idp.oauth.clients.initial_access_tokens import RegistrationPolicy, policy_of, spend_use
from idp.oauth.clients.secrets import match_client_secret
from idp.oauth.clients.service import ClientSpec, create_client, delete_client, update_client
from idp.oauth.constants import SIGNING_ALGS
from idp.outbound import PUBLIC_ONLY, OutboundPolicy
from idp.request_context import RequestContext

REGISTRATION_PATH = "/connect/register"
RAT_PREFIX = "idp_rat_"
DEFAULT_NAME = "Registered client"
# RFC 7592 2.2: sent back by the server, never accepted from the client.
SERVER_FIELDS = ("registration_access_token", "registration_client_uri",
                 "client_secret_expires_at", "client_id_issued_at")
_PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


class RegistrationError(Exception):
    """An RFC 7591 3.2.2 error: `error` is the code, the message its description."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class Registered:
    client: Client
    secret: str | None
    registration_access_token: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bad(description: str, error: str = "invalid_client_metadata"):
    raise RegistrationError(error, description)


def _strings(metadata: dict, name: str) -> list[str] | None:
    value = metadata.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        _bad(f"{name} must be an array of strings.",
             "invalid_redirect_uri" if name == "redirect_uris" else "invalid_client_metadata")
    return list(dict.fromkeys(value))


def _text(metadata: dict, name: str) -> str | None:
    value = metadata.get(name)
    if value is not None and not isinstance(value, str):
        _bad(f"{name} must be a string.")
    return value


def _flag(metadata: dict, name: str) -> bool:
    value = metadata.get(name, False)
    if not isinstance(value, bool):
        _bad(f"{name} must be true or false.")
    return value


def _public_jwks(value) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list) \
            or not value["keys"]:
        _bad("jwks must be a JWK Set: an object with a keys array of at least one key.")
    if any(not isinstance(k, dict) or _PRIVATE_JWK_MEMBERS & set(k) for k in value["keys"]):
        _bad("jwks must hold public keys only.")
    try:
        KeySet.import_key_set(value)
    except (JoseError, ValueError, TypeError, KeyError, AttributeError):
        _bad("jwks holds a key that cannot be used.")
    return value


def _grant_types(metadata: dict) -> list[str]:
    # RFC 7591 2: grant_types defaults to authorization_code; response_types to code, and
    # the two must agree (2.1). We implement the code response type only.
    grants = _strings(metadata, "grant_types") or ["authorization_code"]
    responses = _strings(metadata, "response_types")
    if responses is None:
        responses = ["code"] if "authorization_code" in grants else []
    if set(responses) - {"code"}:
        _bad("response_types supports only 'code'.")
    if ("code" in responses) != ("authorization_code" in grants):
        _bad("response_types 'code' goes with the authorization_code grant type (RFC 7591 2.1).")
    return grants


def metadata_spec(metadata, policy: RegistrationPolicy) -> ClientSpec:
    """The client an RFC 7591 request asks for, within the policy (RegistrationError if not).
    Metadata we do not implement (logo_uri, contacts, ...) is ignored, as 2 allows."""
    if not isinstance(metadata, dict):
        _bad("The request body must be a JSON object of client metadata.")
    if metadata.get("software_statement") is not None:
        _bad("This server accepts no software statements.", "invalid_software_statement")
    if metadata.get("jwks") is not None and metadata.get("jwks_uri") is not None:
        _bad("jwks and jwks_uri must not both be present (RFC 7591 2).")
    method = _text(metadata, "token_endpoint_auth_method") or "client_secret_basic"
    scope = _text(metadata, "scope")
    spec = ClientSpec(
        name=(_text(metadata, "client_name") or "").strip() or DEFAULT_NAME,
        grant_types=_grant_types(metadata),
        redirect_uris=_strings(metadata, "redirect_uris") or [],
        post_logout_redirect_uris=_strings(metadata, "post_logout_redirect_uris") or [],
        scopes=scope.split() if scope else list(policy.scopes),
        public=method == "none", auth_method=method, jwks=_public_jwks(metadata.get("jwks")),
        jwks_uri=_text(metadata, "jwks_uri"),
        token_alg=_text(metadata, "id_token_signed_response_alg") or "RS256",
        backchannel_logout_uri=_text(metadata, "backchannel_logout_uri"),
        backchannel_logout_session_required=_flag(metadata,
                                                  "backchannel_logout_session_required"),
        require_pushed_authorization_requests=_flag(metadata,
                                                    "require_pushed_authorization_requests"))
    if spec.token_alg not in SIGNING_ALGS:
        _bad(f"id_token_signed_response_alg must be one of {list(SIGNING_ALGS)}.")
    _check_policy(spec, policy)
    return spec


def _check_policy(spec: ClientSpec, policy: RegistrationPolicy) -> None:
    refused = sorted(set(spec.grant_types) - set(policy.grant_types))
    if refused:
        _bad(f"grant_types {refused} are not allowed by this registration's policy.")
    for uri in [*spec.redirect_uris, *spec.post_logout_redirect_uris]:
        if not policy.allows_redirect_uri(uri):
            _bad(f"{uri[:200]!r} is outside the redirect URIs this registration allows.",
                 "invalid_redirect_uri")
    refused = sorted(set(spec.scopes) - set(policy.scopes))
    if refused:
        _bad(f"scope {' '.join(refused)!r} is not allowed by this registration's policy.")


def _rules(call):
    """Run the shared client rules; their refusals become RFC 7591 errors."""
    try:
        return call()
    except ValidationFailed as exc:
        error = ("invalid_redirect_uri" if exc.field == "redirect_uris"
                 else "invalid_client_metadata")
        raise RegistrationError(error, exc.message) from None


def register(db: Session, ctx: RequestContext, keyring: Keyring, token_row: InitialAccessToken,
             metadata, outbound: OutboundPolicy = PUBLIC_ONLY) -> Registered:
    """RFC 7591 3: a client in the token's tenant, under its policy; one use of the token."""
    # The actor of every event of this registration is the token, not a person.
    ctx = replace(ctx, actor_id=f"initial_access_token:{token_row.id}")
    policy = policy_of(token_row)
    spec = metadata_spec(metadata, policy)
    tenant = db.get(Tenant, token_row.tenant_id)
    client, secret = _rules(lambda: create_client(db, ctx, keyring, tenant, spec, outbound))
    if not spend_use(db, token_row, ctx.now):
        raise RegistrationError("invalid_token", "The initial access token is used up.")
    token = RAT_PREFIX + secrets.token_urlsafe(32)
    db.add(ClientRegistration(client_id=client.id, token_digest=_digest(token),
                              initial_access_token_id=token_row.id, policy=policy.as_dict(),
                              created_at=ctx.now))
    db.flush()
    return Registered(client, secret, token)


def management_context(ctx: RequestContext, client_id: str) -> RequestContext:
    """The context of an RFC 7592 call: its actor is the client's registration."""
    return replace(ctx, actor_id=f"registration:{client_id}")


def query_registration(db: Session, client_id: str, token: str | None
                       ) -> tuple[Client, ClientRegistration] | None:
    """The client and its registration when `token` is that client's registration access
    token (RFC 7592 2: bound to one client); None for any mismatch."""
    if not token or not token.startswith(RAT_PREFIX) or len(client_id) > 64:
        return None
    row = db.get(ClientRegistration, client_id)
    if row is None or not hmac.compare_digest(row.token_digest, _digest(token)):
        return None
    client = db.get(Client, client_id)
    return (client, row) if client is not None else None


def update(db: Session, ctx: RequestContext, keyring: Keyring, client: Client,
           row: ClientRegistration, metadata, outbound: OutboundPolicy = PUBLIC_ONLY) -> None:
    """RFC 7592 2.2: the metadata replaces the client's (omitted fields return to their
    defaults), under the policy the client was registered with."""
    if not isinstance(metadata, dict):
        _bad("The request body must be a JSON object of client metadata.")
    if metadata.get("client_id") != client.id:
        _bad("client_id must be the client's own.")
    sent_secret = metadata.get("client_secret")
    if sent_secret is not None and not (isinstance(sent_secret, str) and match_client_secret(
            keyring.client_secret_key, client, sent_secret, ctx.now)):
        _bad("client_secret does not match the client's.")
    fields = {k: v for k, v in metadata.items()
              if k not in (*SERVER_FIELDS, "client_id", "client_secret")}
    spec = metadata_spec(fields, RegistrationPolicy.from_dict(row.policy))
    if spec.public != client.is_public:
        _bad("A client cannot switch between public and confidential; register a new one.")
    # What only an admin sets (FAPI 2.0 profile, DPoP nonces) is not registration metadata:
    # a client's own replace keeps it, and the profile's rules still apply to the rest.
    spec = replace(spec, security_profile=client.security_profile,
                   require_dpop_nonce=client.require_dpop_nonce)
    _rules(lambda: update_client(db, ctx, keyring, client, spec, outbound))
    client.jwks = spec.jwks
    client.backchannel_logout_uri = spec.backchannel_logout_uri or None
    client.backchannel_logout_session_required = spec.backchannel_logout_session_required
    client.require_pushed_authorization_requests = spec.require_pushed_authorization_requests
    db.flush()


def remove(db: Session, ctx: RequestContext, client: Client) -> None:
    """RFC 7592 2.3: the client and everything issued to it are gone."""
    delete_client(db, ctx, client)


def record_refusal(db: Session, ctx: RequestContext, error: str, *, tenant_id=None,
                   client_id: str | None = None) -> None:
    """Audit a refused registration request (bad token or metadata)."""
    record(db, ctx, EventType.CLIENT_REGISTRATION_REFUSED, outcome=Outcome.FAILURE,
           tenant_id=tenant_id, client_id=client_id, details={"reason": error})


def client_information(client: Client, uri: str, registered: Registered | None = None) -> dict:
    """RFC 7591 3.2.1 / RFC 7592 3: the registered metadata, and the credentials issued now
    (secrets are stored hashed, so they are shown only in the response that made them)."""
    info = {
        "client_id": client.id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "response_types": ["code"] if "authorization_code" in client.grant_types else [],
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": " ".join(client.scopes),
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "registration_client_uri": uri,
    }
    optional = {"jwks_uri": client.jwks_uri, "jwks": client.jwks,
                "backchannel_logout_uri": client.backchannel_logout_uri}
    info |= {k: v for k, v in optional.items() if v}
    if client.backchannel_logout_uri:
        info["backchannel_logout_session_required"] = client.backchannel_logout_session_required
    if client.require_pushed_authorization_requests:
        info["require_pushed_authorization_requests"] = True
    if registered is not None:
        info["registration_access_token"] = registered.registration_access_token
        if registered.secret:
            # 0: the secret does not expire (RFC 7591 3.2.1).
            info |= {"client_secret": registered.secret, "client_secret_expires_at": 0}
    return info
