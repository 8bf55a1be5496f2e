"""The one rule set for registered redirect URIs (CLI, admin API and console alike).

RFC 6749 3.1.2 (absolute, no fragment), OAuth 2.0 Security BCP 4.1 (exact strings, so no
wildcards), RFC 8252 7.1 and 7.3 (native apps: a reverse-domain private-use scheme, or
http on a loopback address).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from idp.errors import ValidationFailed

MAX_LENGTH = 2000
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
# RFC 8252 7.1: a private-use scheme is a reverse domain name, so it holds a period.
_PRIVATE_SCHEME = re.compile(r"^[a-z][a-z0-9+\-]*(\.[a-z0-9+\-]+)+$")
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f*]")


def _refuse(uri: str, why: str, field: str) -> None:
    raise ValidationFailed(f"{uri[:200]!r}: {why}", field=field)


def validate_redirect_uri(uri: str, field: str = "redirect_uris") -> str:
    """The URI unchanged when it is an acceptable redirect target; ValidationFailed otherwise."""
    if not isinstance(uri, str) or not uri or len(uri) > MAX_LENGTH:
        _refuse(str(uri), f"a redirect URI is a string of at most {MAX_LENGTH} characters.", field)
    if _FORBIDDEN.search(uri):
        _refuse(uri, "spaces, control characters (CR, LF) and wildcards are not allowed.", field)
    if "#" in uri:
        _refuse(uri, "a redirect URI has no fragment.", field)
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in {"http", "https"}:
        _check_web(uri, parts, scheme, field)
    elif not _PRIVATE_SCHEME.match(scheme):
        _refuse(uri, "use https, http on a loopback address, or a reverse-domain private-use "
                     "scheme such as com.example.app:/callback.", field)
    elif "@" in parts.netloc:
        _refuse(uri, "a redirect URI has no user information.", field)
    return uri


def _check_web(uri: str, parts, scheme: str, field: str) -> None:
    if "@" in parts.netloc:
        _refuse(uri, "a redirect URI has no user information.", field)
    try:
        host, _port = parts.hostname, parts.port
    except ValueError:
        host = None
    if not host:
        _refuse(uri, "an http(s) redirect URI needs a host (and a valid port).", field)
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        _refuse(uri, "plain http is allowed only on a loopback address.", field)
