"""The per-app bundle of long-lived collaborators, kept in `app.extensions["idp"]`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from idp.accounts.lockout import LockoutPolicy
from idp.config import Config
from idp.keyring import Keyring
from idp.outbound import OutboundPolicy
from idp.sessions.service import SessionPolicy


@dataclass
class Services:
    config: Config
    keyring: Keyring
    keys: Any = None          # idp.oauth.keys.signing.KeyCache
    server: Any = None        # idp.oauth.server.IdpAuthorizationServer
    mailer: Any = None        # idp.mail.Mailer
    engine: Any = None        # the SQLAlchemy engine (for the WSGI fast paths)
    registration: Any = None  # idp.oauth.clients.initial_access_tokens.RegistrationSwitch
    metadata: Any = None      # idp.oauth.discovery.MetadataDocuments
    extra: dict = field(default_factory=dict)

    @property
    def session_policy(self) -> SessionPolicy:
        c = self.config
        return SessionPolicy(c.session_idle_timeout, c.session_absolute_timeout,
                             c.max_sessions_per_user)

    @property
    def lockout_policy(self) -> LockoutPolicy:
        c = self.config
        return LockoutPolicy(c.lockout_threshold, c.lockout_window, c.lockout_duration)

    @property
    def outbound_policy(self) -> OutboundPolicy:
        """The guard's allowlist (IDP_OUTBOUND_ALLOW) for every server-side fetch or post."""
        return OutboundPolicy.from_entries(self.config.outbound_allow)
