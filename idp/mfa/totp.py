"""Time-based one-time passwords (RFC 6238) over pyotp: pure helpers, no database.

A code is accepted for the current 30-second step and one step either side (RFC 6238
section 5.2 allows a small window for clock drift). The caller keeps the last accepted
step and passes it in: any step at or before it is refused, so a code cannot be replayed
for as long as it would otherwise be valid.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
import segno

PERIOD = 30
DIGITS = 6
WINDOW = 1  # steps accepted either side of the current one


def new_secret() -> str:
    """A fresh base32 secret (160 bits, RFC 4226 section 4 recommends at least 128)."""
    return pyotp.random_base32(32)


def current_step(now: datetime) -> int:
    """The RFC 6238 time step T for `now`."""
    return int(now.timestamp()) // PERIOD


def code_at(secret: str, step: int) -> str:
    """The code for one time step (used by tests and the step check)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).generate_otp(step)


def is_code_shaped(code: str) -> bool:
    """Six ASCII digits."""
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The step `code` belongs to within the window and after `last_step`, else None."""
    code = code.strip().replace(" ", "")
    if not is_code_shaped(code):
        return None
    now_step = current_step(now)
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, account: str, issuer_name: str) -> str:
    """The otpauth:// URI authenticator apps read from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=account, issuer_name=issuer_name)


def qr_svg_data_uri(uri: str) -> str:
    """The QR code as an SVG data: URI (allowed by the CSP's img-src)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def group_secret(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
