"""Keys: our signing keys' lifecycle, and clients' JWKS fetched through the outbound guard."""
