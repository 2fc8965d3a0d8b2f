"""The address of the first start's curl line (commands.url_host): one curl reaches as
pasted, whatever rest_api.listen is."""
from __future__ import annotations

import pytest

from wazo_like_auth.commands import url_host


@pytest.mark.parametrize('listen, host', [
    ('127.0.0.1', '127.0.0.1'),
    ('192.0.2.10', '192.0.2.10'),
    ('0.0.0.0', '127.0.0.1'),  # every IPv4 address: reached on the IPv4 loopback
    ('::', '[::1]'),  # every IPv6 address (an IPv6-only socket, maybe): the IPv6 loopback
    ('::1', '[::1]'),  # RFC 3986: an IPv6 host in brackets (http://::1:9497 is no URL)
    ('2001:db8::5', '[2001:db8::5]'),
    ('fe80::1%eth0', '[fe80::1%25eth0]'),  # RFC 6874: the zone's % escaped
])
def test_the_curl_line_names_an_address_curl_reaches(listen, host):
    assert url_host(listen) == host
