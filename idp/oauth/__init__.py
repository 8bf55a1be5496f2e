"""OAuth 2 / OpenID Connect: the Authlib server, grants, endpoints, keys, claims."""
