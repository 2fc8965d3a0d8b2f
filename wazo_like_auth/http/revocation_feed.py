"""GET /tokens/revoked: the revocation feed of offline verifiers (services/revocation_feed.py).

``since``: the ``cursor`` of the previous answer (absent: every live entry). 200
``{"items": [{"jti", "expires_at"}], "cursor"}``; a cursor the feed never gave: 400
``invalid-cursor``. ACL ``auth.tokens.revoked.read`` (give it to the verifier's client).
"""
from __future__ import annotations

from flask import request

from ..services.authorization import Authorizer
from ..services.revocation_feed import RevocationFeed
from .auth import ProtectedResource, required_acl
from .tokens import NO_STORE


class RevokedTokens(ProtectedResource):
    def __init__(self, *, authorizer: Authorizer, feed: RevocationFeed):
        super().__init__(authorizer=authorizer)
        self._feed = feed

    @required_acl('auth.tokens.revoked.read')
    def get(self, auth):
        return self._feed.since(request.args.get('since')), 200, NO_STORE
