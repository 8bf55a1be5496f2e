"""Adding and removing second factors. Services: they flush; the adapter commits.

A TOTP authenticator is stored (secret encrypted) when enrolment starts and becomes
active only when the person types back one valid code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.audit import EventType, Outcome, record
from idp.errors import Conflict, NotFound
from idp.keyring import Keyring
from idp.mfa import backup_codes, totp
from idp.mfa.passkeys import RelyingParty, query_passkeys, verify_registration
from idp.mfa.policy import has_factor
from idp.models.accounts import User
from idp.models.mfa import TotpCredential, WebAuthnCredential
from idp.request_context import RequestContext


def secret_context(cred_id: uuid.UUID) -> str:
    """AES-GCM associated data binding a ciphertext to its row."""
    return f"totp:{cred_id}"


def backup_code_key(keyring: Keyring) -> bytes:
    return keyring.derive("backup-code-hmac")


def decrypt_secret(keyring: Keyring, cred: TotpCredential) -> str:
    return keyring.decrypt(cred.secret_encrypted, secret_context(cred.id)).decode()


def _audit(db, ctx, user, type_, outcome=Outcome.SUCCESS, **details):
    record(db, ctx, type_, outcome=outcome, subject_id=user.id, tenant_id=user.tenant_id,
           username=user.username, details=details)


def query_totp(db: Session, user: User, confirmed: bool = True) -> TotpCredential | None:
    """The person's confirmed (or pending) authenticator app."""
    flag = TotpCredential.confirmed_at.is_not(None) if confirmed else \
        TotpCredential.confirmed_at.is_(None)
    return db.execute(select(TotpCredential).where(TotpCredential.user_id == user.id, flag)
                      .order_by(TotpCredential.created_at.desc())).scalars().first()


def start_totp(db: Session, ctx: RequestContext, keyring: Keyring, user: User) -> str:
    """Begin enrolment (replacing an unfinished one); returns the secret to show."""
    if query_totp(db, user) is not None:
        raise Conflict(_("An authenticator app is already set up. Remove it first."))
    db.execute(delete(TotpCredential).where(TotpCredential.user_id == user.id,
                                            TotpCredential.confirmed_at.is_(None))
               .execution_options(synchronize_session=False))
    secret = totp.new_secret()
    cred = TotpCredential(id=uuid.uuid4(), user_id=user.id, created_at=ctx.now)
    cred.secret_encrypted = keyring.encrypt(secret.encode(), secret_context(cred.id))
    db.add(cred)
    db.flush()
    _audit(db, ctx, user, EventType.MFA_TOTP_ENROLLED, credential_id=str(cred.id))
    return secret


def pending_secret(db: Session, keyring: Keyring, user: User) -> str | None:
    """The secret of an unfinished enrolment (to show the QR code again)."""
    cred = query_totp(db, user, confirmed=False)
    return decrypt_secret(keyring, cred) if cred else None


def confirm_totp(db: Session, ctx: RequestContext, keyring: Keyring, user: User,
                 code: str) -> bool:
    """Activate the pending authenticator when `code` is valid now."""
    cred = query_totp(db, user, confirmed=False)
    if cred is None:
        raise NotFound("There is no authenticator app waiting to be confirmed.")
    step = totp.matching_step(decrypt_secret(keyring, cred), code, ctx.now, None)
    if step is None:
        _audit(db, ctx, user, EventType.MFA, Outcome.FAILURE, method="totp", stage="enrolment")
        return False
    cred.confirmed_at = ctx.now
    cred.last_used_step = step
    cred.last_used_at = ctx.now
    db.flush()
    _audit(db, ctx, user, EventType.MFA_TOTP_CONFIRMED, credential_id=str(cred.id))
    return True


def ensure_backup_codes(db: Session, ctx: RequestContext, keyring: Keyring,
                        user: User) -> list[str] | None:
    """A first set of codes when the person has none left; None when they still have some."""
    if backup_codes.count_remaining(db, user):
        return None
    return regenerate_backup_codes(db, ctx, keyring, user)


def regenerate_backup_codes(db: Session, ctx: RequestContext, keyring: Keyring,
                            user: User) -> list[str]:
    """A new set of ten codes; every old code stops working."""
    codes = backup_codes.replace_codes(db, user, backup_code_key(keyring), ctx.now)
    _audit(db, ctx, user, EventType.MFA_BACKUP_CODES_REGENERATED, count=len(codes))
    return codes


def register_passkey(db: Session, ctx: RequestContext, rp: RelyingParty, user: User,
                     credential_json: str, challenge: bytes, name: str) -> WebAuthnCredential:
    """Store a verified new passkey (ValidationFailed when the attestation is not valid)."""
    cred = verify_registration(db, rp, user, credential_json, challenge, name, ctx.now)
    _audit(db, ctx, user, EventType.MFA_PASSKEY_REGISTERED, credential_id=str(cred.id),
           name=cred.name)
    return cred


def find_factor(db: Session, user: User, kind: str, factor_id: str
                ) -> TotpCredential | WebAuthnCredential:
    """This person's authenticator app or passkey (NotFound otherwise)."""
    model = {"totp": TotpCredential, "passkey": WebAuthnCredential}.get(kind)
    try:
        key = uuid.UUID(factor_id)
    except (ValueError, TypeError):
        key = None
    row = db.get(model, key) if model is not None and key is not None else None
    if row is None or row.user_id != user.id:
        raise NotFound("No such sign-in method.")
    return row


def remove_factor(db: Session, ctx: RequestContext, user: User, kind: str,
                  factor_id: str) -> str:
    """Remove one authenticator app or passkey; returns its display name."""
    row = find_factor(db, user, kind, factor_id)
    name = "Authenticator app" if kind == "totp" else f"Passkey “{row.name}”"
    db.delete(row)
    db.flush()
    _audit(db, ctx, user, EventType.MFA_FACTOR_REMOVED, kind=kind, credential_id=factor_id)

    if not has_factor(db, user):
        # Backup codes only stand in for a factor; without one they would be a bypass.
        backup_codes.delete_codes(db, user)
    return name


LOW_BACKUP_CODES = 3


@dataclass(frozen=True)
class FactorSummary:
    totp: TotpCredential | None
    pending_totp: bool
    passkeys: list[WebAuthnCredential]
    backup_remaining: int

    @property
    def any(self) -> bool:
        return self.totp is not None or bool(self.passkeys)

    @property
    def count(self) -> int:
        """How many second factors (authenticator app, passkeys) are active."""
        return (self.totp is not None) + len(self.passkeys)

    @property
    def backup_low(self) -> bool:
        """Few backup codes left (the pages say so)."""
        return self.any and self.backup_remaining <= LOW_BACKUP_CODES


def summarize_factors(db: Session, user: User) -> FactorSummary:
    """What the account page lists."""
    return FactorSummary(totp=query_totp(db, user),
                         pending_totp=query_totp(db, user, confirmed=False) is not None,
                         passkeys=query_passkeys(db, user),
                         backup_remaining=backup_codes.count_remaining(db, user))
