"""Which resource answers which path: the whole URL map on one screen."""
from __future__ import annotations

from typing import Any

from . import refresh_tokens as rt
from . import sessions as ss
from .api import Api
from .status import Status
from .tokens import Token, Tokens, TokenScopesCheck


def register(api: Api, services: dict[str, Any]) -> None:
    tokens = services['token_service']
    checker = services['token_checker']
    api.route(Tokens, '/token', token_service=tokens)
    api.route(Token, '/token/<token>', token_service=tokens, token_checker=checker)
    api.route(TokenScopesCheck, '/token/<token>/scopes/check', token_checker=checker)
    api.route(Status, '/status', status_service=services['status_service'])

    protected = {'authorizer': services['authorizer']}
    refresh = {**protected, 'refresh_tokens': services['refresh_token_service']}
    api.route(rt.RefreshTokens, '/tokens', **refresh)
    api.route(rt.MyRefreshTokens, '/users/me/tokens', **refresh)
    api.route(rt.MyRefreshToken, '/users/me/tokens/<client_id>', **refresh)
    api.route(rt.UserRefreshTokens, '/users/<uuid:user_uuid>/tokens', **refresh)
    api.route(rt.UserRefreshToken, '/users/<uuid:user_uuid>/tokens/<client_id>', **refresh)

    sessions = {**protected, 'sessions': services['session_service']}
    api.route(ss.Sessions, '/sessions', **sessions)
    api.route(ss.SessionItem, '/sessions/<uuid:session_uuid>', **sessions)
    api.route(ss.UserSessions, '/users/<uuid:user_uuid>/sessions', **sessions)
    api.route(ss.UserSession, '/users/<uuid:user_uuid>/sessions/<uuid:session_uuid>',
              **sessions)
