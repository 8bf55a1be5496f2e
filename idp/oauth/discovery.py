"""Provider metadata: OpenID Connect Discovery 1.0 and RFC 8414, built once per app."""

from __future__ import annotations

import json

from idp.config import Config
from idp.languages import UI_LOCALES_SUPPORTED
from idp.mfa.acr import ACR_VALUES_SUPPORTED
from idp.oauth.clients.registration import REGISTRATION_PATH
from idp.oauth.constants import (
    CLIENT_AUTH_METHODS,
    CONFIDENTIAL_AUTH_METHODS,
    DEVICE_CODE_GRANT,
    TOKEN_EXCHANGE_GRANT,
)
from idp.oauth.dpop.proofs import DPOP_ALGS
from idp.oauth.keys.signing import SUPPORTED_ALGS
from idp.oauth.request_objects import REQUEST_OBJECT_ALGS
from idp.oauth.tokens.claims import SUPPORTED_CLAIMS, SUPPORTED_SCOPES


def provider_metadata(config: Config, registration_open: bool = False) -> dict:
    """Exactly what this provider supports, nothing more; `registration_endpoint` (RFC 7591)
    only while some tenant lets clients register (a live initial access token)."""
    base = config.issuer
    registration = ({"registration_endpoint": f"{base}{REGISTRATION_PATH}"}
                    if registration_open else {})
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/jwks.json",
        "end_session_endpoint": f"{base}/logout",
        "introspection_endpoint": f"{base}/introspect",
        "revocation_endpoint": f"{base}/revoke",
        "scopes_supported": SUPPORTED_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                                  DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT],
        "device_authorization_endpoint": f"{base}/device_authorization",
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(SUPPORTED_ALGS),
        "token_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(SUPPORTED_ALGS),
        "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": SUPPORTED_CLAIMS,
        "ui_locales_supported": UI_LOCALES_SUPPORTED,  # OIDC Discovery 3; idp/languages.py
        "claims_parameter_supported": False,
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": list(REQUEST_OBJECT_ALGS),
        "request_uri_parameter_supported": False,
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "acr_values_supported": ACR_VALUES_SUPPORTED,
        "pushed_authorization_request_endpoint": f"{base}/par",
        "require_pushed_authorization_requests": config.require_par,
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        **registration,
    }


def metadata_json(config: Config, registration_open: bool = False) -> bytes:
    """The metadata serialised once; served from memory."""
    return json.dumps(provider_metadata(config, registration_open),
                      separators=(",", ":")).encode()


class MetadataDocuments:
    """The two serialised documents (with and without the registration endpoint); which
    one is current follows the registration switch."""

    def __init__(self, config: Config, switch):
        self._closed = metadata_json(config)
        self._open = metadata_json(config, True)
        self._switch = switch

    def current(self) -> bytes:
        return self._open if self._switch.is_open() else self._closed
