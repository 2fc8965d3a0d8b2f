"""What the OpenID Connect pages need to know: realms (tenants by slug), client
registrations as seen from a realm, and the consents users gave to clients."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from ..exceptions import UnknownClient, UnknownRealm, UnknownUser
from ..logs import get_logger
from ..models import User
from ..oauth_models import Client
from ..oauth2.clients import safe_redirect_uri
from ..oidc.authorize import Registration, missing_consent
from ..oidc.realms import Realm, realm_issuer
from ..repositories import clients as client_repo
from ..repositories import oidc as oidc_repo
from ..repositories import tenants as tenant_repo
from ..repositories.listing import paginate
from .listing import ListQuery, Page

logger = get_logger(__name__)


@dataclass(frozen=True)
class RealmClient:
    uuid: uuid.UUID
    registration: Registration
    post_logout_redirect_uris: tuple[str, ...]
    tenant_uuid: uuid.UUID  # it serves the users of this tenant and the tenants below


class OidcClientService:
    def __init__(self, *, sessions: sessionmaker):
        self._sessions = sessions

    def realm(self, slug: str, base: str) -> Realm:
        """The realm of a tenant slug; raises UnknownRealm."""
        if not slug or len(slug) > 80 or '\x00' in slug:  # PostgreSQL text has no NUL
            raise UnknownRealm(details={'realm': slug[:80].replace('\x00', '')})
        with self._sessions() as db:
            row = tenant_repo.by_slug(db, slug)
        if row is None:
            raise UnknownRealm(details={'realm': slug})
        return Realm(issuer=realm_issuer(base, slug), tenant_uuid=row.uuid, slug=slug,
                     name=row.name)

    def client(self, realm: Realm, client_id: str | None) -> RealmClient | None:
        """A client of ``realm`` by client_id, or None (unknown or of another tenant)."""
        if not client_id or len(client_id) > 128 or '\x00' in client_id:
            return None
        with self._sessions() as db:
            client = client_repo.find_by_client_id(db, client_id)
            if client is None or not realm.accepts(client.tenant_uuid):
                return None
            return _realm_client(client)

    def needs_consent(self, user_uuid: uuid.UUID, client: RealmClient,
                      scope: tuple[str, ...], forced: bool) -> bool:
        """Whether to ask the user: prompt=consent (``forced``), or a client that requires
        consent, never answered by this user or asking for scopes beyond the remembered ones."""
        if forced:
            return True
        if not client.registration.require_consent:
            return False
        with self._sessions() as db:
            granted = oidc_repo.consented_scope(db, user_uuid, client.uuid)
        return granted is None or bool(missing_consent(scope, granted))

    def remember_consent(self, user_uuid: uuid.UUID, client: RealmClient,
                         scope: tuple[str, ...]) -> None:
        with self._sessions.begin() as db:
            oidc_repo.remember_consent(db, user_uuid, client.uuid, list(dict.fromkeys(scope)))

    def consents(self, user_uuid: uuid.UUID, query: ListQuery) -> Page:
        """The clients a user consented to, with the scopes (GET /users/{u}/consents)."""
        with self._sessions() as db:
            total, filtered, rows = paginate(db, oidc_repo.consent_listing(user_uuid), query,
                                             columns=oidc_repo.CONSENT_COLUMNS,
                                             searchable=('client_id',))
        return Page(total, filtered, [
            {'client_uuid': str(r.client_uuid), 'client_id': r.client_id,
             'scope': list(r.scope), 'created_at': r.created_at.isoformat()} for r in rows])

    def forget_consent(self, user_uuid: uuid.UUID, client_uuid: uuid.UUID) -> None:
        """Revoke a consent and the access the client got through it: its unused codes,
        its refresh token for the user and the user's sessions and access tokens issued to it
        end at once, on every node (the deletes notify every validation cache). The client
        asks again next time; the user's browser sign-in and other clients are left alone.
        Raises UnknownClient when the user gave this client no consent."""
        with self._sessions.begin() as db:
            # The user row first, then the consent and codes: the lock order of a user's
            # delete (its cascade reaches the consent) and of the code exchange (the code's
            # user, then the code), so that neither deadlocks with this. An exchange in flight
            # either commits first and is revoked below, or finds its code gone; a refresh
            # exchange share-locks the user too. A user deleted meanwhile: 404.
            user = db.get(User, user_uuid, with_for_update=True)
            if user is None:
                raise UnknownUser(details={'uuid': str(user_uuid)})
            if not oidc_repo.forget_consent(db, user_uuid, client_uuid):
                raise UnknownClient(details={'uuid': str(client_uuid)})
            oidc_repo.forget_codes(db, user_uuid, client_uuid)
            client = db.get(Client, client_uuid)
            revoked = client_repo.revoke_for_user(db, client, user.uuid, user.tenant_uuid)
        logger.info('consent of user %s to client %s removed, %d sessions revoked',
                    user_uuid, client.client_id, revoked)


def _realm_client(client: Client) -> RealmClient:
    return RealmClient(
        uuid=client.uuid,
        registration=Registration(
            client_id=client.client_id, name=client.name or client.client_id,
            public=client.public, redirect_uris=_safe(client.redirect_uris),
            grant_types=tuple(client.grant_types), require_consent=client.require_consent),
        post_logout_redirect_uris=_safe(client.post_logout_redirect_uris),
        tenant_uuid=client.tenant_uuid)


def _safe(uris) -> tuple[str, ...]:
    # Registration refuses unsafe schemes; one stored before it did is never redirected to.
    return tuple(uri for uri in uris or () if safe_redirect_uri(uri))
