"""The one guard for every server-side fetch or post (client `jwks_uri`, back-channel
logout, webhooks, upstream providers): public addresses only unless IDP_OUTBOUND_ALLOW
names the target, checked after DNS resolution, the connection pinned to the checked
address (DNS rebinding cannot switch it), no redirects, short timeouts, a size cap.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger("idp.outbound")

TIMEOUT = 3.0  # seconds for connect and for each read
DEADLINE = 5.0  # seconds for the whole exchange
MAX_BYTES = 64 * 1024
# What the caller (and so a client or an admin) is told, whatever went wrong: a port
# scanner learns nothing from it. The reason goes to the server log only.
GENERIC_ERROR = "The remote address could not be used."

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(Exception):
    """The target is not allowed or did not answer usefully; str() is always GENERIC_ERROR."""

    def __init__(self, reason: str):
        super().__init__(GENERIC_ERROR)
        self.reason = reason  # for the log, never for the client


@dataclass(frozen=True)
class OutboundPolicy:
    """Which non-public targets the operator allows (IDP_OUTBOUND_ALLOW)."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def from_entries(cls, entries) -> OutboundPolicy:
        """A policy from the validated allowlist entries of the configuration."""
        networks, hosts = [], set()
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        """True when the operator named this host (any address it resolves to is accepted)."""
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        """Public addresses, and the operator's allowed networks."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if any(address in net for net in self.networks):
            return True
        # is_global is False for loopback, private (RFC 1918, ULA), link-local (cloud
        # metadata 169.254.169.254), shared (100.64/10), reserved and unspecified ranges.
        return address.is_global and not address.is_multicast


PUBLIC_ONLY = OutboundPolicy()


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    body: bytes
    content_type: str


def _target(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username \
            or parts.password is not None:
        raise OutboundRefused(f"not a plain http(s) URL: {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused(f"bad port in {url!r}") from None
    return parts.scheme, parts.hostname, port


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(info[4][0] for info in infos))


def _check_addresses(host: str, addresses: list[str], policy: OutboundPolicy) -> None:
    if policy.allows_host(host):
        return
    # One forbidden address is enough to refuse: the resolver chooses which one we get.
    bad = [a for a in addresses if not policy.allows_address(ipaddress.ip_address(a))]
    if bad:
        raise OutboundRefused(f"{host!r} resolves to a non-public address {bad}")


def resolve_checked(url: str, policy: OutboundPolicy) -> tuple[str, str, int, list[str]]:
    """(scheme, host, port, addresses): every address the host resolves to, all allowed."""
    scheme, host, port = _target(url)
    addresses = _resolve(host, port)
    if not addresses:
        raise OutboundRefused(f"{host!r} does not resolve")
    _check_addresses(host, addresses, policy)
    return scheme, host, port, addresses


def check_registered_url(url: str, policy: OutboundPolicy) -> None:
    """At registration: refuse a URL the fetch would refuse (a name that does not resolve
    yet is accepted here; the fetch-time check still applies)."""
    _scheme, host, port = _target(url)
    addresses = _resolve(host, port)
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        addresses = addresses or ["127.0.0.1"]  # RFC 6761 6.3: always loopback
    _check_addresses(host, addresses, policy)


def _connection(scheme: str, host: str, port: int, addresses: list[str], timeout: float):
    cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = cls(host, port, timeout=timeout)

    def connect_pinned(_address, timeout=timeout, source_address=None):
        # Connect to the addresses we checked, not to a fresh lookup of the name; HTTPS
        # still verifies the certificate (and sends SNI) for `host`.
        error = OSError("no address")
        for address in addresses[:2]:  # a bounded number of connect timeouts
            try:
                return socket.create_connection((address, port), timeout, source_address)
            except OSError as exc:
                error = exc
        raise error

    conn._create_connection = connect_pinned
    return conn


def _read_capped(response, max_bytes: int, deadline: float) -> bytes:
    chunks, size = [], 0
    while size <= max_bytes:
        if time.monotonic() > deadline:
            raise OutboundRefused("answer too slow")
        chunk = response.read(min(16384, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > max_bytes:
        raise OutboundRefused("answer too large")
    return b"".join(chunks)


def send(url: str, policy: OutboundPolicy, *, method: str = "GET", body: bytes | None = None,
         headers: dict | None = None, max_bytes: int = MAX_BYTES) -> OutboundResponse:
    """One request to `url` under the guard; redirects are not followed (a 3xx is returned)."""
    scheme, host, port, addresses = resolve_checked(url, policy)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + DEADLINE
    conn = _connection(scheme, host, port, addresses, TIMEOUT)
    try:
        conn.request(method, path, body=body, headers={"User-Agent": "idp", **(headers or {})})
        response = conn.getresponse()
        data = _read_capped(response, max_bytes, deadline)
        return OutboundResponse(response.status, data, response.getheader("Content-Type", ""))
    except OutboundRefused:
        raise
    except (OSError, http.client.HTTPException) as exc:
        raise OutboundRefused(f"{host}:{port}: {exc.__class__.__name__}") from None
    finally:
        conn.close()


def fetch_json(url: str, policy: OutboundPolicy, max_bytes: int = MAX_BYTES):
    """GET a JSON document (status 200 only); OutboundRefused with the generic text otherwise."""
    import json

    try:
        response = send(url, policy, headers={"Accept": "application/json"}, max_bytes=max_bytes)
    except OutboundRefused as exc:
        log.warning("outbound fetch refused: %s", exc.reason)
        raise
    if response.status != 200:
        log.warning("outbound fetch of %s answered %s", url, response.status)
        raise OutboundRefused(f"status {response.status}")
    try:
        return json.loads(response.body)
    except ValueError:
        log.warning("outbound fetch of %s is not JSON", url)
        raise OutboundRefused("not JSON") from None
