"""The running configuration as administrators may read it (admin spec §5.2)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import sessionmaker

from .. import tokens
from ..config_view import public_view
from ..exceptions import Unauthorized
from ..repositories import tenants as tenant_repo
from .authorization import AuthContext

# Only the native user store exists (spec D7): no LDAP, SAML or external backends.
BACKENDS = ('wazo_user',)


class ConfigService:
    def __init__(self, *, config: dict, sessions: sessionmaker):
        # Masked once: what GET /config shows never holds a secret (config_view.public_view).
        self._shown = {'debug': config['log_level'] == 'debug', **public_view(config)}
        self._sessions = sessions
        self._top: uuid.UUID | None = None

    def view(self, auth: AuthContext) -> dict[str, Any]:
        """The configuration, secrets masked, for a token issued in the top tenant.

        Raises Unauthorized (401) for any other token, whatever ACL it holds: a sub-tenant
        administrator with ``#`` must not read the operator's configuration.
        """
        if self._token_tenant(auth) != self._top_tenant():
            # Redacted as in every other 401: clients log error bodies.
            raise Unauthorized(details={'invalid_token': tokens.redact(auth.token),
                                        'reason': 'not_top_tenant'})
        return self._shown

    def _top_tenant(self) -> uuid.UUID:
        # The top tenant is created once and never moves: one query per process.
        if self._top is None:
            with self._sessions() as db:
                self._top = tenant_repo.top_tenant_uuid(db)
        return self._top

    @staticmethod
    def _token_tenant(auth: AuthContext) -> uuid.UUID | None:
        try:
            return uuid.UUID(str((auth.row.metadata or {}).get('tenant_uuid')))
        except ValueError:
            return None

    @staticmethod
    def backends() -> list[str]:
        return list(BACKENDS)
