"""Browser sign-ins, authorization codes and consents (OpenID Connect)."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Select, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session as DbSession

from ..models import Email, Session, Token, User
from ..oauth_models import Client
from ..oidc_models import AuthorizationCode, Consent, Signin


def add_signin(db: DbSession, signin: Signin, mobile: bool = False) -> None:
    """Insert a sign-in and the session that shows it in /sessions."""
    db.add(Session(uuid=signin.session_uuid, tenant_uuid=signin.tenant_uuid,
                   user_uuid=signin.user_uuid, mobile=mobile))
    db.flush()
    db.add(signin)
    db.flush()


def signin_by_cookie(db: DbSession, digest: bytes, now: dt.datetime) -> Signin | None:
    return db.scalars(select(Signin).where(Signin.cookie_hash == digest,
                                           Signin.expires_at > now)).first()


def end_signin(db: DbSession, signin_uuid: uuid.UUID) -> list[uuid.UUID]:
    """Delete a sign-in's own session: the sign-in, its codes and every session issued
    through it go by cascade (their tokens' revocation is notified to every node)."""
    own = select(Signin.session_uuid).where(Signin.uuid == signin_uuid).scalar_subquery()
    issued = list(db.scalars(delete(Session).where(Session.signin_uuid == signin_uuid)
                             .returning(Session.uuid)))
    return issued + list(db.scalars(delete(Session).where(Session.uuid == own)
                                    .returning(Session.uuid)))


def purge_expired_batch(db: DbSession, before: dt.datetime, batch: int) -> tuple[int, int]:
    """Forget up to ``batch`` sign-ins and up to ``batch`` codes that expired before ``before``
    (rows locked by others are skipped); returns how many of each. Sessions issued through a
    sign-in stay until their own tokens expire (the sign-in only stops skipping the form); its
    own session goes, and the sign-in and its codes with it (cascade).

    The transaction waits at most ``lock_timeout`` for a row a request holds, then fails
    (lock_not_available): the purge gives way rather than delay or deadlock the request."""
    db.execute(text("SET LOCAL lock_timeout = '200ms'"))
    signins = db.execute(select(Signin.uuid, Signin.session_uuid)
                         .where(Signin.expires_at < before).order_by(Signin.expires_at)
                         .limit(batch).with_for_update(skip_locked=True)).all()
    if signins:
        db.execute(update(Session).where(Session.signin_uuid.in_([s.uuid for s in signins]))
                   .values(signin_uuid=None), execution_options={'synchronize_session': False})
        db.execute(delete(Session).where(Session.uuid.in_([s.session_uuid for s in signins])),
                   execution_options={'synchronize_session': False})
    doomed = select(AuthorizationCode.code_hash).where(AuthorizationCode.expires_at < before) \
        .order_by(AuthorizationCode.expires_at).limit(batch).with_for_update(skip_locked=True)
    codes = db.execute(delete(AuthorizationCode).where(AuthorizationCode.code_hash.in_(doomed)),
                       execution_options={'synchronize_session': False}).rowcount
    return len(signins), codes


def link_session(db: DbSession, session_uuid: uuid.UUID, signin_uuid: uuid.UUID) -> None:
    db.execute(update(Session).where(Session.uuid == session_uuid)
               .values(signin_uuid=signin_uuid))


def add_code(db: DbSession, code: AuthorizationCode) -> None:
    db.add(code)
    db.flush()


def user_of_code(db: DbSession, digest: bytes) -> uuid.UUID | None:
    """The uuid of the user whose sign-in a code was issued to (no lock), or None."""
    return db.scalar(select(Signin.user_uuid).join(
        AuthorizationCode, AuthorizationCode.signin_uuid == Signin.uuid)
        .where(AuthorizationCode.code_hash == digest))


def code_for_update(db: DbSession, digest: bytes) -> AuthorizationCode | None:
    return db.scalars(select(AuthorizationCode).where(AuthorizationCode.code_hash == digest)
                      .with_for_update()).first()


def consented_scope(db: DbSession, user_uuid: uuid.UUID,
                    client_uuid: uuid.UUID) -> list[str] | None:
    """The scopes a user granted a client, None when never asked."""
    return db.scalar(select(Consent.scope).where(Consent.user_uuid == user_uuid,
                                                 Consent.client_uuid == client_uuid))


# The scopes granted so far, then the new ones, each once, in that order.
_MERGED_SCOPE = text('ARRAY(SELECT s FROM unnest(auth_consent.scope || excluded.scope) '
                     'WITH ORDINALITY AS t(s, n) GROUP BY s ORDER BY min(n))')


def remember_consent(db: DbSession, user_uuid: uuid.UUID, client_uuid: uuid.UUID,
                     scope: list[str]) -> None:
    """Add ``scope`` to what the user granted the client. Merged by the statement itself:
    two answers at once (two tabs) each keep their scopes, where a read then a write lost the
    first writer's."""
    statement = insert(Consent).values(user_uuid=user_uuid, client_uuid=client_uuid,
                                       scope=scope)
    db.execute(statement.on_conflict_do_update(
        index_elements=[Consent.user_uuid, Consent.client_uuid],
        set_={'scope': _MERGED_SCOPE}))


# What GET /users/{u}/consents sorts (text bytewise, admin spec §0.5), filters (strictly)
# and searches by.
CONSENT_COLUMNS = {'client_id': Client.client_id.collate('C'), 'client_uuid': Consent.client_uuid,
                   'created_at': Consent.created_at}


def consent_listing(user_uuid: uuid.UUID) -> Select:
    """A user's consents as (client_uuid, client_id, scope, created_at) rows, for paginate."""
    return select(Consent.client_uuid, Client.client_id, Consent.scope, Consent.created_at) \
        .join(Client, Client.uuid == Consent.client_uuid).where(Consent.user_uuid == user_uuid)


def forget_consent(db: DbSession, user_uuid: uuid.UUID, client_uuid: uuid.UUID) -> bool:
    return db.execute(delete(Consent).where(Consent.user_uuid == user_uuid,
                                            Consent.client_uuid == client_uuid)).rowcount > 0


def forget_codes(db: DbSession, user_uuid: uuid.UUID, client_uuid: uuid.UUID) -> int:
    """Delete the authorization codes a client got for a user (used or not): an unused one
    gives nothing any more. Returns how many."""
    of_user = select(Signin.uuid).where(Signin.user_uuid == user_uuid)
    return db.execute(delete(AuthorizationCode).where(
        AuthorizationCode.client_uuid == client_uuid,
        AuthorizationCode.signin_uuid.in_(of_user))).rowcount


def signin_of_code(db: DbSession, signin_uuid: uuid.UUID) -> Signin | None:
    return db.get(Signin, signin_uuid)


def signin_alive(db: DbSession, signin_uuid: uuid.UUID, now: dt.datetime) -> bool:
    """Whether the sign-in is live, then kept from being deleted until the transaction ends
    (FOR KEY SHARE: a session may be linked to it); one being deleted meanwhile is waited
    for, then not live (linking to it failed its foreign key)."""
    return db.scalar(select(Signin.uuid).where(Signin.uuid == signin_uuid,
                                               Signin.expires_at > now)
                     .with_for_update(read=True, key_share=True)) is not None


def token_oidc(db: DbSession, digest: bytes):
    """(session_uuid, user_uuid, oidc) of a token: ``oidc`` is the OpenID part of its
    metadata (scope, sid, iss, auth_time), None for other tokens."""
    return db.execute(select(Token.session_uuid, Session.user_uuid,
                             Token.metadata_['oidc'].label('oidc'))
                      .join(Session, Session.uuid == Token.session_uuid)
                      .where(Token.token_hash == digest)).first()


def profile_row(db: DbSession, user_uuid: uuid.UUID):
    """(uuid, username, firstname, lastname, email, email_confirmed) of a user: its main
    e-mail address, else None."""
    return db.execute(select(User.uuid, User.username, User.firstname, User.lastname,
                             Email.address.label('email'),
                             Email.confirmed.label('email_confirmed'))
                      .outerjoin(Email, (Email.user_uuid == User.uuid) & Email.main.is_(True))
                      .where(User.uuid == user_uuid)).first()
