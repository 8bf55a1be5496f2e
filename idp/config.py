"""Every setting of the provider, read from the environment in this one module.

A bad value stops start-up with a `ConfigError` that names the variable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


_RATE_LIMIT = re.compile(
    r"^\s*\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day|month|year)s?\s*$", re.I
)


@dataclass(frozen=True)
class Config:
    """The validated settings; field names mirror the IDP_* variables."""

    issuer: str = "http://127.0.0.1:5000"
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 2
    database_url: str = "sqlite:///instance/idp.db"
    redis_url: str | None = None
    redis_prefix: str = "idp"
    keys_dir: str = "keys"
    session_idle_timeout: int = 1800
    session_absolute_timeout: int = 43200
    max_sessions_per_user: int = 5
    lockout_threshold: int = 10
    lockout_window: int = 1800
    lockout_duration: int = 1800
    login_rate_limit: str = "5 per 15 minutes"
    trusted_proxies: int = 0
    access_token_ttl: int = 600
    refresh_token_ttl: int = 2592000
    id_token_ttl: int = 600
    authorization_code_ttl: int = 60
    par_ttl: int = 60  # seconds a pushed request_uri lives (RFC 9126 2.2)
    device_code_ttl: int = 600  # seconds a device code lives (RFC 8628 3.2)
    # RFC 9126 5: every client must push its authorization requests (also per client).
    require_par: bool = False
    # RFC 9449 8-9: every DPoP proof must carry a server nonce (also per client).
    dpop_nonce: bool = False
    smtp_url: str | None = None
    mail_from: str = "idp@localhost"
    bootstrap_admin_email: str = "admin@localhost"
    bootstrap_admin_password: str | None = None
    # Account security (issue 4): defaults; each tenant may override in Tenant.settings.
    password_policy: str = "default"  # "default" (composition rules) or "nist" (SP 800-63B)
    password_min_length: int = 8
    password_history: int = 5
    password_max_age_admin_days: int = 90  # admin roles; 0 = passwords never expire
    password_reset_ttl: int = 1800
    registration_mode: str = "open"  # "open", "invite" or "off"
    self_service_rate_limit: str = "10 per hour"  # /password/forgot and /register, per IP
    scim_rate_limit: str = "1200 per minute"  # /scim/v2 requests per service client
    log_level: str = "INFO"
    # Loopback/private/link-local targets the server may fetch or post to (CIDRs, host names).
    outbound_allow: tuple[str, ...] = ()
    # RabbitMQ (issue 19): events also go to this topic exchange, routing key = event type.
    amqp_url: str | None = None
    amqp_exchange: str = "idp.events"
    testing: bool = False
    # Argon2id parameters by name (idp/accounts/passwords.py): "owasp" always in service;
    # "test" (the smallest cost) only for test suites, so it is no IDP_* variable and is
    # refused unless `testing` is set too.
    password_hashing: str = "owasp"
    extra: dict = field(default_factory=dict)

    @property
    def issuer_is_https(self) -> bool:
        """True when cookies must carry the Secure flag."""
        return self.issuer.startswith("https://")

    @property
    def max_token_ttl(self) -> int:
        """The longest lifetime of anything we sign: how long a retired key stays published."""
        return max(self.access_token_ttl, self.id_token_ttl)


_INT_FIELDS = {f.name for f in fields(Config) if f.type == "int"}
_BOOL_FIELDS = {"testing", "require_par", "dpop_nonce"}
# Settings a caller of create_app may pass but the environment may not set.
_NOT_FROM_ENVIRONMENT = {"extra", "password_hashing"}
# Variables whose zero would make no sense (0 is meaningful for lockout_duration and
# trusted_proxies).
_POSITIVE = {
    "port", "workers", "session_idle_timeout", "session_absolute_timeout",
    "max_sessions_per_user", "lockout_threshold", "lockout_window", "access_token_ttl",
    "refresh_token_ttl", "id_token_ttl", "authorization_code_ttl", "par_ttl",
    "device_code_ttl",
    "password_min_length", "password_reset_ttl",
}


def _env_name(name: str) -> str:
    return f"IDP_{name.upper()}"


def _parse(name: str, raw: str):
    if name in _INT_FIELDS:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{_env_name(name)} must be a whole number, got {raw!r}") from None
        if value < 0 or (value == 0 and name in _POSITIVE):
            raise ConfigError(f"{_env_name(name)} must be positive, got {raw!r}")
        return value
    if name in _BOOL_FIELDS:
        word = raw.strip().lower()
        if word not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            raise ConfigError(f"{_env_name(name)} must be true or false, got {raw!r}")
        return word in {"1", "true", "yes", "on"}
    if name == "outbound_allow":
        return _parse_outbound_allow(raw)
    return raw


_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?)+$", re.I)


def _parse_outbound_allow(raw: str) -> tuple[str, ...]:
    """Comma- or space-separated CIDRs (a bare address is a /32 or /128) and host names."""
    import ipaddress

    entries = []
    for entry in raw.replace(",", " ").split():
        try:
            entries.append(str(ipaddress.ip_network(entry, strict=False)))
            continue
        except ValueError:
            pass
        if not _HOST_NAME.match(entry) or entry.replace(".", "").isdigit():
            raise ConfigError(f"IDP_OUTBOUND_ALLOW: {entry!r} is neither a CIDR nor a host name")
        entries.append(entry.lower().rstrip("."))
    return tuple(entries)


def _validate_account_settings(config: Config) -> None:
    if config.password_policy not in {"default", "nist"}:
        raise ConfigError("IDP_PASSWORD_POLICY must be 'default' or 'nist', "
                          f"got {config.password_policy!r}")
    if config.registration_mode not in {"open", "invite", "off"}:
        raise ConfigError("IDP_REGISTRATION_MODE must be 'open', 'invite' or 'off', "
                          f"got {config.registration_mode!r}")
    if not _RATE_LIMIT.match(config.self_service_rate_limit):
        raise ConfigError("IDP_SELF_SERVICE_RATE_LIMIT must look like '10 per hour', "
                          f"got {config.self_service_rate_limit!r}")
    if not _RATE_LIMIT.match(config.scim_rate_limit):
        raise ConfigError("IDP_SCIM_RATE_LIMIT must look like '1200 per minute', "
                          f"got {config.scim_rate_limit!r}")
    if not 1 <= config.password_min_length <= 64:
        raise ConfigError("IDP_PASSWORD_MIN_LENGTH must be between 1 and 64")
    if config.password_hashing not in {"owasp", "test"} or (
            config.password_hashing == "test" and not config.testing):
        raise ConfigError("password_hashing must be 'owasp' ('test' only with testing), "
                          f"got {config.password_hashing!r}")


def _validate(config: Config) -> Config:
    parts = urlsplit(config.issuer)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"IDP_ISSUER must be an http(s) URL without query, got {config.issuer!r}")
    if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ConfigError("IDP_ISSUER must use https unless it is a loopback address")
    if not _RATE_LIMIT.match(config.login_rate_limit):
        raise ConfigError(
            f"IDP_LOGIN_RATE_LIMIT must look like '5 per 15 minutes', got {config.login_rate_limit!r}"
        )
    _validate_account_settings(config)
    if config.session_idle_timeout > config.session_absolute_timeout:
        raise ConfigError("IDP_SESSION_IDLE_TIMEOUT must not exceed IDP_SESSION_ABSOLUTE_TIMEOUT")
    if "://" not in config.database_url:
        raise ConfigError(f"IDP_DATABASE_URL must be an SQLAlchemy URL, got {config.database_url!r}")
    for name in ("redis_url", "smtp_url", "amqp_url"):
        value = getattr(config, name)
        if value and "://" not in value:
            raise ConfigError(f"{_env_name(name)} must be a URL, got {value!r}")
    return replace(config, issuer=config.issuer.rstrip("/"))


def load_config(overrides: dict | None = None, environ: dict | None = None) -> Config:
    """Build the configuration from IDP_* variables (and `.env`), then `overrides`."""
    env = os.environ if environ is None else environ
    values: dict = {}
    for f in fields(Config):
        if f.name in _NOT_FROM_ENVIRONMENT:
            continue
        raw = env.get(_env_name(f.name))
        if raw is not None and raw != "":
            values[f.name] = _parse(f.name, raw)
    for key, value in (overrides or {}).items():
        name = key.lower().removeprefix("idp_")
        if name not in {f.name for f in fields(Config)}:
            raise ConfigError(f"unknown setting {key!r}")
        values[name] = _parse(name, value) if isinstance(value, str) else value
    return _validate(Config(**values))


def load_dotenv_file(path: str | Path = ".env") -> None:
    """Read a `.env` file into the environment without overriding what is set."""
    from dotenv import load_dotenv

    load_dotenv(path, override=False)
