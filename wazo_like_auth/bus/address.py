"""Where the broker is: an ``amqp[s]://`` URI read into connection parameters.

Standard library only, so that ``wazo_like_auth.verifier`` (which must not pull in the
service's dependencies) shares it with the service's publisher.
"""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

SCHEMES = {'amqp': 5672, 'amqps': 5671}


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    userid: str
    password: str
    virtual_host: str
    ssl: bool

    @classmethod
    def from_uri(cls, uri: str) -> BrokerAddress:
        """``amqp[s]://user:password@host:port/vhost``, read as kombu does: the path ``/``
        (or none) is the default virtual host ``/``. Raises ValueError."""
        parts = urllib.parse.urlsplit(uri)
        if parts.scheme not in SCHEMES:
            raise ValueError('must be an amqp:// or amqps:// URI')
        try:
            port = parts.port or SCHEMES[parts.scheme]
        except ValueError:
            raise ValueError('has an invalid port') from None
        vhost = urllib.parse.unquote(parts.path[1:]) if len(parts.path) > 1 else '/'
        return cls(host=parts.hostname or 'localhost', port=port,
                   userid=urllib.parse.unquote(parts.username or 'guest'),
                   password=urllib.parse.unquote(parts.password or 'guest'),
                   virtual_host=vhost, ssl=parts.scheme == 'amqps')

    def tls(self) -> dict | bool:
        """py-amqp's ``ssl`` argument: for amqps, TLS with the system's CAs, the broker's
        certificate and host name verified; False for amqp."""
        if not self.ssl:
            return False
        return {'context': {'check_hostname': True}, 'server_hostname': self.host}
