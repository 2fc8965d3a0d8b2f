"""Whom a client's requests count against, for every per-client budget: the login throttle's
password and refresh budgets and known addresses, the mail budgets, the device flow's wrong
user codes."""
from __future__ import annotations

import ipaddress


def client_network(address: str) -> str:
    """An IPv4 address itself, but the /64 network of an IPv6 one: a client holds the whole
    /64 (RFC 4291's interface identifier, SLAAC privacy addresses that change daily) and could
    change addresses inside it for free, so counted per address its budget would be unbounded.
    An IPv4 client of a dual stack (``::ffff:a.b.c.d``) counts as its IPv4 address; what is no
    address counts as itself."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f'{ip}/64', strict=False))
    return str(ip)
