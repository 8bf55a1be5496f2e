"""OAuth clients: registration, authentication, secrets, redirect URIs, usage."""
