"""Second factors: TOTP, backup codes, passkeys; enrolment, verification, policy, reset."""
