"""Which address a request came from, believing X-Forwarded-For only from trusted proxies.

The per-address throttles are only as good as this answer. Anyone can send the header, so it
counts only when the direct peer is a proxy named in `HAVEN_TRUSTED_PROXIES`; then the
client is the rightmost hop that is not itself a trusted proxy (each trusted proxy appends
the peer it saw, so everything left of that hop is the client's own word). `haven serve`
gives uvicorn the same list, and no other, so it cannot rewrite the peer behind our back
(uvicorn trusts 127.0.0.1 by default, which is where a Tor onion service or a local proxy
connects from).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import Request

from app.config import IPNetwork, Settings

UNKNOWN = "unknown"


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:443"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(value: str, proxies: Sequence[IPNetwork]) -> bool:
    address = _parse(value)
    return address is not None and any(address in net for net in proxies)


def client_host(
    peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[IPNetwork]
) -> str:
    """The client's address: the peer, or (from a trusted proxy) the rightmost untrusted hop."""
    if peer is None:
        return UNKNOWN
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    current = peer
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            # Not an address: something a proxy would never append, so the client wrote it;
            # the last proxy that spoke is the best we know.
            return current
        current = str(address)
        if not any(address in net for net in proxies):
            return current
    return current


def client_address(request: Request) -> str:
    """The client's address: the peer, or what a proxy named in HAVEN_TRUSTED_PROXIES says."""
    settings: Settings = request.app.state.settings
    return client_host(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        settings.trusted_proxies,
    )


def uvicorn_options(settings: Settings) -> tuple[bool, list[str]]:
    """uvicorn's `proxy_headers` and `forwarded_allow_ips`: headers from our proxies only."""
    # An empty list, never None: None makes uvicorn fall back to FORWARDED_ALLOW_IPS or
    # 127.0.0.1.
    allowed = [str(net) for net in settings.trusted_proxies]
    return bool(allowed), allowed
