"""DPoP (RFC 9449): proofs, server nonces, and the checks at the HTTP edge."""
