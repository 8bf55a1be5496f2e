"""People: creation, lookup, passwords, lockout."""
