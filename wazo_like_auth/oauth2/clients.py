"""OAuth 2.0 clients: what a registration may hold, and how a request authenticates its client
(RFC 6749 §2.1 client types, §2.3 client authentication). Free of Flask and SQLAlchemy.
"""
from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote_plus

from .errors import InvalidClient, InvalidRequest, InvalidScope

PASSWORD = 'password'
CLIENT_CREDENTIALS = 'client_credentials'
REFRESH_TOKEN = 'refresh_token'
DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code'
AUTHORIZATION_CODE = 'authorization_code'
GRANT_TYPES = (AUTHORIZATION_CODE, PASSWORD, CLIENT_CREDENTIALS, REFRESH_TOKEN, DEVICE_CODE)

# RFC 3986 "unreserved" characters: form-urlencoding leaves them unchanged, so a client_id
# reads the same whether a client library encodes it before Basic (RFC 6749 §2.3.1) or not.
_CLIENT_ID_RE = re.compile(r'^[A-Za-z0-9._~-]{1,128}$')


def client_id_error(client_id: object) -> str | None:
    """Why ``client_id`` cannot name a client, or None when it can."""
    if not isinstance(client_id, str) or not _CLIENT_ID_RE.match(client_id):
        return 'must be 1 to 128 characters among letters, digits and . _ ~ -'
    try:
        uuid.UUID(client_id)
    except ValueError:
        return None
    # A client token's auth_id is its client_id; token checks read a UUID auth_id as a user.
    return 'must not be a UUID'


MAX_REDIRECT_URIS = 20


def redirect_uris_error(uris: object) -> str | None:
    """Why a list of redirect URIs cannot be registered, or None. Each is an absolute URI
    without fragment (RFC 6749 §3.1.2), of a scheme a browser leaves the page for
    (``safe_redirect_uri``), compared later as an exact string."""
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        return 'must be a list of strings'
    if len(uris) > MAX_REDIRECT_URIS:
        return f'at most {MAX_REDIRECT_URIS} URIs'
    for uri in uris:
        if not _ABSOLUTE_URI_RE.match(uri) or '#' in uri or len(uri) > 2048:
            return f'{uri[:80]!r} is not an absolute URI without fragment (at most 2048 ' \
                   'characters, no spaces)'
        if not safe_redirect_uri(uri):
            return f'{uri[:80]!r}: the {_scheme(uri)}: scheme is not allowed (https, http ' \
                   "or a native application's private-use scheme such as com.example.app:)"
    return None


_ABSOLUTE_URI_RE = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+\Z')
# Schemes that do not leave the page for an application but run or show something in the
# browser itself: a redirect there would run script (or open a local file) in the browser that
# carries the code or the logout. Allowed: https, http (the loopback redirects of RFC 8252
# §7.3, and applications on a trusted network; the README says so), and the private-use
# schemes of native applications (RFC 8252 §7.1).
UNSAFE_SCHEMES = frozenset({'javascript', 'data', 'vbscript', 'file'})


def _scheme(uri: str) -> str:
    return uri.partition(':')[0].lower()


def safe_redirect_uri(uri: str) -> bool:
    """Whether a browser may be sent to ``uri``: its scheme (case-insensitive, RFC 3986 §3.1)
    is not one of UNSAFE_SCHEMES."""
    return _scheme(uri) not in UNSAFE_SCHEMES


def grant_types_error(grant_types: object, public: bool) -> str | None:
    """Why a client may not hold ``grant_types``, or None."""
    if not isinstance(grant_types, list) or not all(isinstance(g, str) for g in grant_types):
        return 'must be a list of strings'
    unknown = [g for g in grant_types if g not in GRANT_TYPES]
    if unknown:
        return f'unknown grant types {unknown}; supported: {", ".join(GRANT_TYPES)}'
    if public and CLIENT_CREDENTIALS in grant_types:
        # RFC 6749 §4.4: the client credentials grant is for confidential clients only.
        return 'a public client cannot use client_credentials'
    return None


@dataclass(frozen=True)
class ClientCredentials:
    """The client a request claims to be, and how (RFC 6749 §2.3.1, §3.2.1)."""
    client_id: str
    secret: str | None
    method: str  # client_secret_basic, client_secret_post or none

    def secret_candidates(self) -> list[str]:
        """Secrets to try, RFC form first. RFC 6749 §2.3.1 has clients form-urlencode the id
        and secret before Basic; many libraries (requests' HTTPBasicAuth, authlib) do not, so
        the raw value is also tried when decoding changed it. Both need the real secret."""
        if self.secret is None:
            return []
        if self.method != 'client_secret_basic':
            return [self.secret]
        decoded = unquote_plus(self.secret)
        return [decoded] if decoded == self.secret else [decoded, self.secret]


def client_credentials(authorization: str | None,
                       form: Mapping[str, str]) -> ClientCredentials:
    """The client credentials of a request: Basic header, or client_id (+ client_secret) in
    the form. Raises InvalidClient when absent or malformed, InvalidRequest when the request
    uses two methods at once (RFC 6749 §2.3: MUST NOT)."""
    basic = _basic(authorization)
    if basic is not None:
        if 'client_secret' in form or form.get('client_id', basic[0]) != basic[0]:
            raise InvalidRequest('Use one client authentication method per request')
        return ClientCredentials(_storable(basic[0]), basic[1], 'client_secret_basic')
    client_id = form.get('client_id')
    if not client_id:
        raise InvalidClient('Client authentication is required')
    secret = form.get('client_secret')
    return ClientCredentials(client_id, secret, 'client_secret_post' if secret else 'none')


def _storable(client_id: str) -> str:
    # No client can have a client_id with NUL (PostgreSQL text refuses it): such an id is an
    # unknown client, answered before the lookup would fail with a 500. (Form values with NUL
    # are refused earlier, as invalid_request.)
    if '\x00' in client_id:
        raise InvalidClient('Unknown client')
    return client_id


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, payload = authorization.strip().partition(' ')
    if scheme.lower() != 'basic':
        return None
    try:
        text = base64.b64decode(payload.strip(), validate=True).decode('utf-8')
    except (binascii.Error, ValueError):
        raise InvalidClient('Malformed Basic credentials') from None
    raw_id, colon, secret = text.partition(':')
    client_id = unquote_plus(raw_id)
    if not colon or not client_id:
        raise InvalidClient('Malformed Basic credentials')
    return client_id, secret


def scope_tokens(scope: str | None) -> list[str]:
    """The scope tokens of a ``scope`` parameter (RFC 6749 §3.3), duplicates removed, order
    kept. Raises InvalidScope for characters outside NQCHAR."""
    if not scope:
        return []
    tokens = [t for t in scope.split(' ') if t]
    if any(not _nqchar(t) for t in tokens):
        raise InvalidScope('Scope tokens are printable ASCII without space, " or \\')
    return list(dict.fromkeys(tokens))


def _nqchar(token: str) -> bool:
    return all(0x21 <= ord(c) <= 0x7e and c not in '"\\' for c in token)


def scope_string(acl: Sequence[str], extra: Sequence[str] = ()) -> str:
    """An ACL as a ``scope`` value: entries that are valid scope tokens, space-joined."""
    return ' '.join(dict.fromkeys(t for t in [*acl, *extra] if t and _nqchar(t)))
