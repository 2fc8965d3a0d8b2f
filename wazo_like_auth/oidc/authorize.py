"""Authorization request validation (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1).

``check_target`` runs first and raises InvalidTarget (an error page, never a redirect);
``parse`` then raises AuthorizeError (redirected to the client). Pure: the caller gives the
client's registration.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import pkce
from .errors import AuthorizeError, InvalidTarget

# The parameters carried through the sign-in and consent forms, and only those.
PARAMETERS = ('client_id', 'redirect_uri', 'response_type', 'response_mode', 'scope', 'state',
              'nonce', 'prompt', 'max_age', 'login_hint', 'code_challenge',
              'code_challenge_method', 'id_token_hint', 'request', 'request_uri')
# Request objects (OIDC Core §6) are not supported (discovery says so): a request using one
# MUST get these errors (§6.1, §6.2), not a code that ignores what the object asked.
UNSUPPORTED = {'request': 'request_not_supported', 'request_uri': 'request_uri_not_supported'}
MAX_LENGTH = {'state': 2048, 'nonce': 512, 'scope': 1024, 'login_hint': 256,
              'redirect_uri': 2048, 'client_id': 128, 'code_challenge': 128,
              'id_token_hint': 16384}
SCOPES = ('openid', 'profile', 'email', 'offline_access')
PROMPTS = ('none', 'login', 'consent', 'select_account')
# The prompts that show the sign-in form to a signed-in browser: select_account too, the form
# being where a user chooses the account (OIDC Core §3.1.2.1).
SIGN_IN_PROMPTS = frozenset({'login', 'select_account'})
RESPONSE_MODES = ('query', 'form_post')


@dataclass(frozen=True)
class Registration:
    """What the authorization endpoint needs of a client."""
    client_id: str
    name: str
    public: bool
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    require_consent: bool


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    response_mode: str
    scope: tuple[str, ...]
    state: str | None
    nonce: str | None
    prompt: frozenset[str]
    max_age: int | None
    login_hint: str | None
    code_challenge: str | None
    id_token_hint: str | None = None

    @property
    def openid(self) -> bool:
        return 'openid' in self.scope


def parameters(source: Mapping[str, str]) -> dict[str, str]:
    """The known parameters of a request, empty ones omitted (RFC 6749 §3.1)."""
    return {name: source[name] for name in PARAMETERS if source.get(name)}


def repeated(source) -> tuple[str, ...]:
    """The known parameters ``source`` (a mapping with ``getlist``, as werkzeug's MultiDict)
    gives more than once: RFC 6749 §3.1 says they MUST NOT be, and which one counts would
    otherwise be a guess (``parameters`` keeps the first)."""
    return tuple(name for name in PARAMETERS if len(source.getlist(name)) > 1)


def check_target(params: Mapping[str, str], client: Registration | None,
                 repeats: Sequence[str] = ()) -> str:
    """The redirect URI to answer to; raises InvalidTarget. Exact string comparison with a
    registered URI (no normalisation, no wildcards: RFC 9700 §4.1.3), the port of a loopback
    URI aside (``registered``). ``repeats``: the parameters the request repeats
    (``repeated``)."""
    for name in ('client_id', 'redirect_uri'):
        if name in repeats:
            raise InvalidTarget(f'The request gives {name} more than once.')
        value = params.get(name)
        if not value:
            raise InvalidTarget(f'The request has no {name}.')
        if len(value) > MAX_LENGTH[name] or '\x00' in value:
            raise InvalidTarget(f'The {name} is too long or malformed.')
    if client is None or 'authorization_code' not in client.grant_types:
        raise InvalidTarget('This application is unknown or may not sign users in here.')
    if not registered(params['redirect_uri'], client.redirect_uris):
        raise InvalidTarget('The redirect URI is not registered for this application.')
    return params['redirect_uri']


def registered(uri: str, uris: Sequence[str]) -> bool:
    """Whether ``uri`` is one of ``uris``, as an exact string, except that an
    ``http://127.0.0.1`` or ``http://[::1]`` URI may name any port: a native application
    listens on a port the system gives it when it starts (RFC 8252 §7.3; not ``localhost``,
    whose name may resolve elsewhere, §8.3)."""
    if uri in uris:
        return True
    portless = _loopback_without_port(uri)
    return portless is not None and any(_loopback_without_port(u) == portless for u in uris)


_LOOPBACK = re.compile(r'http://(127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?(?=[/?]|\Z)')


def _loopback_without_port(uri: str) -> str | None:
    """``uri`` with its port taken out when it is a loopback http URI, else None; the rest
    of the string as it is."""
    found = _LOOPBACK.match(uri)
    return None if found is None else found.group(1) + uri[found.end():]


def parse(params: Mapping[str, str], client: Registration,
          repeats: Sequence[str] = ()) -> AuthorizationRequest:
    """The validated request; raises AuthorizeError. check_target must have passed."""
    if repeats:
        raise AuthorizeError(f'Parameter {repeats[0]} is repeated')
    for name, limit in MAX_LENGTH.items():
        if len(params.get(name, '')) > limit:
            raise AuthorizeError(f'{name} is longer than {limit} characters')
    if any('\x00' in value for value in params.values()):
        raise AuthorizeError('Parameters cannot contain NUL')
    for name, error in UNSUPPORTED.items():
        if name in params:
            raise AuthorizeError(f'The {name} parameter is not supported', error)
    if not params.get('response_type'):
        raise AuthorizeError('response_type is required')  # RFC 6749 §4.1.2.1
    if params['response_type'] != 'code':
        raise AuthorizeError('response_type must be code', 'unsupported_response_type')
    mode = params.get('response_mode', 'query')
    if mode not in RESPONSE_MODES:
        raise AuthorizeError('response_mode must be query or form_post')
    scope = _scope(params.get('scope', ''), client)
    error = pkce.challenge_error(params.get('code_challenge'),
                                 params.get('code_challenge_method'))
    if error:
        raise AuthorizeError(error)
    if client.public and not params.get('code_challenge'):
        raise AuthorizeError('PKCE with S256 is required for public clients')
    prompt = frozenset(params.get('prompt', '').split())
    if not prompt <= set(PROMPTS) or ('none' in prompt and len(prompt) > 1):
        raise AuthorizeError('prompt must be none, or any of login, consent, select_account')
    return AuthorizationRequest(
        client_id=client.client_id, redirect_uri=params['redirect_uri'], response_mode=mode,
        scope=scope, state=params.get('state'), nonce=params.get('nonce'), prompt=prompt,
        max_age=_max_age(params.get('max_age')), login_hint=params.get('login_hint'),
        code_challenge=params.get('code_challenge'), id_token_hint=params.get('id_token_hint'))


def _scope(value: str, client: Registration) -> tuple[str, ...]:
    tokens = [t for t in value.split(' ') if t]
    if any(not t.isprintable() or not t.isascii() or '"' in t or '\\' in t for t in tokens):
        raise AuthorizeError('Scope tokens are printable ASCII without " or \\',
                             'invalid_scope')
    # OIDC Core §3.1.2.1: scope values that are not understood SHOULD be ignored.
    tokens = tuple(dict.fromkeys(t for t in tokens if t in SCOPES))
    if 'offline_access' in tokens and 'refresh_token' not in client.grant_types:
        raise AuthorizeError('offline_access needs the refresh_token grant for this client',
                             'invalid_scope')
    return tokens


def _max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise AuthorizeError('max_age must be a number of seconds')
    return int(value)


def missing_consent(requested: Sequence[str], granted: Sequence[str]) -> list[str]:
    """The requested scopes a user has not granted yet (consent is asked for those)."""
    return [s for s in requested if s not in granted]
