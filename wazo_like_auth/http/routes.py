"""Which resource answers which path: the whole URL map on one screen."""
from __future__ import annotations

from typing import Any

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
