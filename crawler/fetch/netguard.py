"""Which addresses a crawler may connect to: public unicast only, unless allowed.

A crawl fed URLs from the open web must not be turned against the machine it runs on
or its private network (SSRF): loopback, private, link-local, shared, reserved,
multicast and unspecified addresses are refused before any connection is made.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddressError(Exception):
    """A URL's host is, or resolves to, an address the crawler must not contact."""


def parse_ip(host: str) -> IPAddress | None:
    """The address if *host* is an IP literal (brackets allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def non_public_reason(address: str | IPAddress) -> str | None:
    """Why *address* is not a public unicast address, or None when it is one."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # Most specific first: link-local and unspecified addresses also count as private.
    for attr in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{attr}"):
            return attr.replace("_", "-")
    if not ip.is_global:
        return "non-global"
    return None


def check_address(host: str, address: str | IPAddress) -> None:
    """Raise BlockedAddressError when *address* (of *host*) is not public."""
    reason = non_public_reason(address)
    if reason is not None:
        shown = host if str(address) == host.strip("[]") else f"{host} ({address})"
        raise BlockedAddressError(f"non-public address refused: {shown} is {reason}")
