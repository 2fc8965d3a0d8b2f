"""Whom a client's requests count against, for every per-client budget: the login throttle's
password and refresh budgets and known addresses, the mail budgets, the device flow's wrong
user codes; and whether a client is in configured networks (throttle.trusted_networks,
metrics.allowed_networks)."""
from __future__ import annotations

import ipaddress
from collections.abc import Sequence


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


def networks(specs: Sequence[str]) -> list:
    """The configured networks ``specs`` (CIDR strings, host bits allowed) for ``within``."""
    return [ipaddress.ip_network(n, strict=False) for n in specs]


def within(address: str | None, configured: Sequence) -> bool:
    """Whether ``address`` is an IP address of one of the ``configured`` networks. An IPv4
    client of a dual-stack listener (``::ffff:a.b.c.d``, what a service on ``::`` sees of
    127.0.0.1) is in a network of either form: 127.0.0.0/8, or ::ffff:127.0.0.0/104 as
    operators wrote before IPv4 networks matched it."""
    try:
        ip = ipaddress.ip_address(address or '')
    except ValueError:
        return False
    forms = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        forms.append(ip.ipv4_mapped)  # and as itself: a ::ffff:a.b.c.d/104 network matches
    return any(form in network for form in forms for network in configured)
