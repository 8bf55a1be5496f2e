"""Passkeys and security keys (WebAuthn Level 2) over the `webauthn` package.

The relying party ID is the issuer's host and the expected origin the issuer's origin;
the library checks both, the challenge, the signature and user presence. We check that
the credential belongs to the person, and move the sign counter forward with a
compare-and-set so a cloned authenticator (or a replayed assertion) is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.errors import ValidationFailed
from idp.input_limits import loads_bounded
from idp.models.accounts import User
from idp.models.mfa import UsedWebAuthnChallenge, WebAuthnCredential

MAX_NAME = 100
TIMEOUT_MS = 120_000
CHALLENGE_MEMORY = 900  # seconds; longer than a challenge lives in the flow cookie


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str
    name: str

    @classmethod
    def from_issuer(cls, issuer: str) -> RelyingParty:
        """RP ID = the issuer's host; origin = scheme://host[:port] of the issuer."""
        parts = urlsplit(issuer)
        return cls(id=parts.hostname or "", origin=f"{parts.scheme}://{parts.netloc}",
                   name=parts.hostname or "idp")


@dataclass(frozen=True)
class Ceremony:
    options_json: str
    challenge: bytes


def _descriptors(credentials: list[WebAuthnCredential]) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for cred in credentials:
        transports = [AuthenticatorTransport(t) for t in cred.transports or []
                      if t in AuthenticatorTransport._value2member_map_]
        out.append(PublicKeyCredentialDescriptor(id=cred.credential_id, transports=transports))
    return out


def registration_options(rp: RelyingParty, user: User,
                         existing: list[WebAuthnCredential]) -> Ceremony:
    """Options for navigator.credentials.create(): a discoverable credential, UV preferred."""
    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_id=user.id.bytes, user_name=user.email or user.username,
        user_display_name=user.name or user.username, timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=_descriptors(existing))
    return Ceremony(options_to_json(options), options.challenge)


def authentication_options(rp: RelyingParty,
                           credentials: list[WebAuthnCredential] | None) -> Ceremony:
    """Options for navigator.credentials.get(); no allow-list means a discoverable passkey."""
    options = generate_authentication_options(
        rp_id=rp.id, timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(credentials) if credentials else None,
        user_verification=(UserVerificationRequirement.PREFERRED if credentials
                           else UserVerificationRequirement.REQUIRED))
    return Ceremony(options_to_json(options), options.challenge)


def _parse(credential_json: str) -> dict:
    try:
        data = loads_bounded(credential_json)
    except (TypeError, ValueError):
        raise ValidationFailed(_("The passkey response could not be read.")) from None
    if not isinstance(data, dict) or not isinstance(data.get("rawId"), str):
        raise ValidationFailed(_("The passkey response could not be read."))
    return data


def clean_name(name: str | None) -> str:
    """A display name for the authenticator (defaults to 'Passkey')."""
    value = " ".join((name or "").split())[:MAX_NAME]
    return value or "Passkey"


def verify_registration(db: Session, rp: RelyingParty, user: User, credential_json: str,
                        challenge: bytes, name: str, now) -> WebAuthnCredential:
    """Check an attestation and store the new credential; ValidationFailed when invalid."""
    data = _parse(credential_json)
    try:
        verified = verify_registration_response(
            credential=data, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin)
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(_("The passkey could not be registered: %(reason)s", reason=exc)) from None
    taken = db.execute(select(WebAuthnCredential.id).where(
        WebAuthnCredential.credential_id == verified.credential_id)).first()
    if taken is not None:
        raise ValidationFailed(_("This passkey is already registered."))
    transports = data.get("response", {}).get("transports") or []
    cred = WebAuthnCredential(
        user_id=user.id, name=clean_name(name), credential_id=verified.credential_id,
        public_key=verified.credential_public_key, sign_count=verified.sign_count,
        transports=[t for t in transports if isinstance(t, str)][:8], aaguid=verified.aaguid,
        discoverable=True, backed_up=verified.credential_backed_up, created_at=now)
    db.add(cred)
    db.flush()
    return cred


@dataclass(frozen=True)
class Assertion:
    credential: WebAuthnCredential
    user_verified: bool


def _find_credential(db: Session, data: dict) -> WebAuthnCredential | None:
    try:
        raw_id = base64url_to_bytes(data["rawId"])
    except (ValueError, TypeError):
        return None
    return db.execute(select(WebAuthnCredential).where(
        WebAuthnCredential.credential_id == raw_id)).scalar_one_or_none()


def _user_handle_matches(data: dict, cred: WebAuthnCredential) -> bool:
    handle = (data.get("response") or {}).get("userHandle")
    if not handle:
        return True  # optional for non-discoverable use; the credential row names the owner
    try:
        return base64url_to_bytes(handle) == cred.user_id.bytes
    except (ValueError, TypeError):
        return False


def verify_assertion(db: Session, rp: RelyingParty, credential_json: str, challenge: bytes,
                     now, user: User | None = None, require_uv: bool = False) -> Assertion | None:
    """Check an assertion; None when it fails. `user` None = passwordless (any owner)."""
    data = _parse(credential_json)
    cred = _find_credential(db, data)
    if cred is None or (user is not None and cred.user_id != user.id):
        return None
    if not _user_handle_matches(data, cred):
        return None
    try:
        verified = verify_authentication_response(
            credential=data, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin, credential_public_key=cred.public_key,
            credential_current_sign_count=cred.sign_count, require_user_verification=require_uv)
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError):
        return None
    if not _burn_challenge(db, challenge, now) or not _advance_counter(
            db, cred, verified.new_sign_count, now):
        return None
    return Assertion(cred, verified.user_verified)


def _burn_challenge(db: Session, challenge: bytes, now) -> bool:
    """Record the answered challenge; False when it was answered before (a replay)."""
    db.execute(delete(UsedWebAuthnChallenge).where(UsedWebAuthnChallenge.expires_at < now)
               .execution_options(synchronize_session=False))
    try:
        with db.begin_nested():
            db.add(UsedWebAuthnChallenge(digest=hashlib.sha256(challenge).hexdigest(),
                                         expires_at=now + timedelta(seconds=CHALLENGE_MEMORY)))
    except IntegrityError:
        return False
    return True


def _advance_counter(db: Session, cred: WebAuthnCredential, new_count: int, now) -> bool:
    """Compare-and-set: only one of two concurrent uses of one counter value wins."""
    result = db.execute(
        update(WebAuthnCredential)
        .where(WebAuthnCredential.id == cred.id, WebAuthnCredential.sign_count == cred.sign_count)
        .values(sign_count=new_count, last_used_at=now)
        .execution_options(synchronize_session=False))
    db.expire(cred)
    return result.rowcount == 1


def query_passkeys(db: Session, user: User) -> list[WebAuthnCredential]:
    """A person's passkeys, oldest first."""
    return list(db.execute(select(WebAuthnCredential).where(WebAuthnCredential.user_id == user.id)
                           .order_by(WebAuthnCredential.created_at)).scalars())
