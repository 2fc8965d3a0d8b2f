"""HTTP resources of the OpenID Connect issuers: discovery, certs (JWKS), userinfo, and the
realm copies of the OAuth 2.0 endpoints (token, introspection, revocation, device
authorization) restricted to the realm's tenant.

An unknown realm answers 404 in the envelope (raised before the OAuth answer wrapper, which
would turn it into an OAuth error); everything else answers as the global endpoints do.
"""
from __future__ import annotations

from flask import request
from flask_restful import Resource

from ..oauth2.errors import REALM, InvalidRequest, InvalidToken, MissingToken
from ..oidc import discovery, keys
from ..oidc.realms import Realm, public_base
from ..services import actors
from .auth import request_token
from .oauth2_endpoints import issuer, oauth_answers, oauth_form, origin, request_root

# A rotated key is published CERTS_MAX_AGE before it signs: whoever cached the set knows it.
CERTS_CACHE = f'public, max-age={keys.CERTS_MAX_AGE}'


def base_url(public_url: str | None) -> str:
    return public_base(public_url, '' if public_url else request_root())


def global_realm(public_url: str | None) -> Realm:
    return Realm(issuer=issuer(public_url))


class _RealmResource(Resource):
    def __init__(self, *, oidc_clients, public_url: str | None, **kwargs):
        self._clients = oidc_clients
        self._public_url = public_url
        self._kwargs = kwargs

    def realm(self, slug: str) -> Realm:
        return self._clients.realm(slug, base_url(self._public_url))


class RealmDiscovery(_RealmResource):
    cross_origin = True  # http/cors.py

    def get(self, slug: str):
        return discovery.realm_metadata(self.realm(slug).issuer), 200


class GlobalDiscovery(Resource):
    """/.well-known/openid-configuration of the /api/auth/0.1 issuer: OAuth 2.0 and OIDC."""

    cross_origin = True  # http/cors.py

    def __init__(self, *, public_url: str | None):
        self._public_url = public_url

    def get(self):
        return discovery.global_metadata(issuer(self._public_url)), 200


class Certs(Resource):
    """The JWK Set of every issuer (one set of keys for the service)."""

    cross_origin = True  # http/cors.py

    def __init__(self, *, signing_keys, oidc_clients=None, public_url: str | None = None):
        self._keys = signing_keys
        self._clients = oidc_clients
        self._public_url = public_url

    def get(self, slug: str | None = None):
        if slug is not None:
            self._clients.realm(slug, base_url(self._public_url))
        return self._keys.jwks(), 200, {'Cache-Control': CERTS_CACHE}


class Userinfo(_RealmResource):
    """OIDC Core §5.3: the claims of the token's scopes (GET and POST, Bearer)."""

    cross_origin = True  # http/cors.py

    def get(self, slug: str | None = None):
        realm = self.realm(slug) if slug else global_realm(self._public_url)
        return self._answer(realm)

    post = get

    @oauth_answers
    def _answer(self, realm: Realm):
        token = _userinfo_token()
        if not token:
            raise MissingToken()
        claims = self._kwargs['id_tokens'].userinfo(token, realm, request.remote_addr or '')
        if claims is None:
            raise InvalidToken()
        return claims, 200


def _userinfo_token() -> str:
    """The access token of a UserInfo request: ``Authorization: Bearer`` (or Wazo's
    X-Auth-Token), or the ``access_token`` of a form-encoded POST body (RFC 6750 §2.2, part of
    the §2 that OIDC Core §5.3.1 refers to), never the query (§2.3, RFC 9700 §2.1). Raises
    InvalidRequest for a request giving it two ways (§2: clients MUST NOT)."""
    header = request_token()
    body = ''
    if request.method == 'POST' and request.mimetype == 'application/x-www-form-urlencoded':
        body = request.form.get('access_token', '')
    if header and body:
        raise InvalidRequest('The access token is given in more than one way', headers={
            'WWW-Authenticate': f'Bearer realm="{REALM}", error="invalid_request"'})
    return header or body


class RealmToken(_RealmResource):
    cross_origin = True  # http/cors.py

    def post(self, slug: str):
        realm = self.realm(slug)
        return self._answer(self._kwargs['endpoints'].token(realm), realm.issuer)

    @oauth_answers
    def _answer(self, endpoint, issuer_url: str):
        return endpoint.handle(oauth_form(), request.headers.get('Authorization'),
                               origin(issuer_url)), 200


class RealmIntrospection(_RealmResource):
    cross_origin = False  # confidential clients, server side (http/cors.py)

    def post(self, slug: str):
        return self._answer(self._kwargs['endpoints'].introspection(self.realm(slug)))

    @oauth_answers
    def _answer(self, endpoint):
        return endpoint.handle(oauth_form(), request.headers.get('Authorization'),
                               request.remote_addr or ''), 200


class RealmRevocation(_RealmResource):
    cross_origin = True  # http/cors.py

    def post(self, slug: str):
        return self._answer(self._kwargs['endpoints'].revocation(self.realm(slug)))

    @oauth_answers
    def _answer(self, endpoint):
        # Named as at /oauth2/revoke: the client (learnt by the service) and this address.
        with actors.acting_as({'address': request.remote_addr or ''}):
            endpoint.handle(oauth_form(), request.headers.get('Authorization'))
        return {}, 200


class RealmDeviceAuthorization(_RealmResource):
    cross_origin = True  # http/cors.py

    def post(self, slug: str):
        realm = self.realm(slug)
        return self._answer(self._kwargs['endpoints'].device_authorization(realm), realm.issuer)

    @oauth_answers
    def _answer(self, endpoint, issuer_url: str):
        # The realm's own verification page ({issuer}/device): the code is of this realm.
        return endpoint.handle(oauth_form(), request.headers.get('Authorization'),
                               issuer_url), 200
