"""An example backend service protected by wazo-like-auth tokens.

Run it next to a running wazo-like-auth:

    python contribs/examples/backend_service.py --auth-url http://127.0.0.1:9497/0.1 --port 9500

    curl http://127.0.0.1:9500/public                                    # 200, no token
    curl -H "X-Auth-Token: $TOKEN" http://127.0.0.1:9500/users/$UUID/profile
        # 200 if the token has confd.users.$UUID.read (or confd.#), 403 if not,
        # 401 without a valid token, 503 if the auth service is down

JWT access tokens verified offline (RFC 9068; the revocation feed is polled when
WAZO_REVOCATION_TOKEN holds a token with the ACL auth.tokens.revoked.read):

    python contribs/examples/backend_service.py --auth-url http://127.0.0.1:9497/api/auth/0.1 \
        --jwt-issuer http://127.0.0.1:9497/api/auth/0.1 --audience confd --port 9500

Either mode drops a revoked session at once when following the service's bus
(``--bus-uri``, the service's ``amqp.uri``; needs py-amqp, the ``verifier-push`` extra):

    python contribs/examples/backend_service.py --auth-url http://127.0.0.1:9497/0.1 \
        --bus-uri amqp://guest:guest@127.0.0.1:5672/ --port 9500

It needs only flask, flask-restful and requests (and joserfc for the JWT mode, amqp for push)
besides ``wazo_like_auth/verifier/`` and ``wazo_like_auth/acl/``.
"""
from __future__ import annotations

import argparse
import os

from flask import Flask, g
from flask_restful import Api, Resource

from wazo_like_auth.verifier import JwtVerifier, PushRevocation, TokenVerifier


def create_app(auth_url: str, **verifier_options) -> Flask:
    """The backend's WSGI app checking tokens online; ``verifier_options`` go to
    TokenVerifier (cache_ttl, ...)."""
    return protected_app(TokenVerifier(auth_url, **verifier_options))


def protected_app(verifier) -> Flask:
    """The backend's WSGI app guarded by ``verifier`` (a TokenVerifier or a JwtVerifier)."""
    app = Flask(__name__)

    @app.get('/public')
    def public():
        return {'status': 'ok'}

    @app.get('/users/<user_uuid>/profile')
    @verifier.required_acl('confd.users.{user_uuid}.read')
    def profile(user_uuid):
        # g.auth_token is the caller's token, to forward to other services if needed.
        return {'uuid': user_uuid, 'display_name': f'User {user_uuid[:8]}'}

    class UserSettings(Resource):
        """The same guard on a flask-restful resource method."""

        @verifier.required_acl('confd.users.{user_uuid}.settings.read')
        def get(self, user_uuid):
            # g.auth_claims: the verified claims of a JWT (None when checked online).
            caller = g.auth_claims['sub'] if g.auth_claims else None
            return {'uuid': user_uuid, 'language': 'en_US', 'authenticated': bool(g.auth_token),
                    'caller': caller}

    Api(app).add_resource(UserSettings, '/users/<user_uuid>/settings')
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--auth-url', default='http://127.0.0.1:9497/0.1')
    parser.add_argument('--port', type=int, default=9500)
    parser.add_argument('--cache-ttl', type=float, default=5.0)
    parser.add_argument('--jwt-issuer', help='verify JWT access tokens of this issuer offline')
    parser.add_argument('--audience', default='confd', help='this backend, in the aud claim')
    parser.add_argument('--revocation-poll-interval', type=float, default=10.0)
    parser.add_argument('--bus-uri', help='follow session ends on this broker (push revocation)')
    parser.add_argument('--exchange', default='xivo', help='the service\'s amqp.exchange_name')
    args = parser.parse_args(argv)
    push = PushRevocation(args.bus_uri, exchange_name=args.exchange) if args.bus_uri else None
    if args.jwt_issuer:
        feed = os.environ.get('WAZO_REVOCATION_TOKEN')
        verifier = JwtVerifier(args.jwt_issuer, args.audience, auth_url=args.auth_url,
                               revocation_token=feed,
                               revocation_poll_interval=args.revocation_poll_interval
                               if feed else None, push=push)
        protected_app(verifier).run('127.0.0.1', args.port)
    else:
        create_app(args.auth_url, cache_ttl=args.cache_ttl, push=push).run('127.0.0.1',
                                                                           args.port)


if __name__ == '__main__':
    main()
