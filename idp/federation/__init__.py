"""Signing in with an upstream provider: providers, the OpenID Connect client, identities."""
