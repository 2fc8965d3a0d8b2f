"""What the validation cache keeps per token (issue 14): the tokens of one policy's users share
one compiled ACL and one ACL tuple, instead of a ~10 KB regex each, and still answer for their
own user and session."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from types import SimpleNamespace

from wazo_like_auth.acl import AccessCheckCache
from wazo_like_auth.services.validation import CheckedToken, TokenChecker, ValuePool

# The shape of Wazo's default user policy: self-service entries through `me` and `my_session`.
USER_POLICY = [
    'auth.users.me.read', 'auth.users.me.update', 'auth.users.me.password.edit',
    'auth.users.me.sessions.read', 'auth.users.me.tokens.read', 'auth.users.me.tokens.*.delete',
    'auth.sessions.my_session.delete', 'auth.users.me.external.#', 'calld.users.me.#',
    'chatd.users.me.#', 'confd.users.me.read', 'confd.users.me.update',
    'confd.users.me.funckeys.*', 'confd.users.me.forwards.*.edit', 'dird.directories.favorites.#',
    'dird.directories.lookup.*.me.read', 'dird.personal.#', 'webhookd.users.me.subscriptions.#',
    'websocketd', '!confd.users.me.admin.#',
]
TENANT, SERVER = str(uuid.uuid4()), str(uuid.uuid4())
NOW = dt.datetime.now(dt.timezone.utc)


def _fresh(value):
    """A new object equal to ``value``, as the database driver returns one per row."""
    return json.loads(json.dumps(value))


def _row(user: str) -> SimpleNamespace:
    """A token row as token_repo.find_by_digest returns it: one new session per token."""
    return SimpleNamespace(
        auth_id=user, session_uuid=uuid.uuid4(), acl=_fresh(USER_POLICY),
        expires_at=NOW + dt.timedelta(hours=1), issued_at=NOW, pbx_user_uuid=_fresh(user),
        xivo_uuid=_fresh(SERVER), user_agent=_fresh('wazo-desktop/2.4'),
        remote_addr=_fresh('10.0.0.17'),
        metadata=_fresh({'uuid': user, 'tenant_uuid': TENANT, 'auth_id': user,
                         'pbx_user_uuid': user, 'xivo_uuid': SERVER, 'purpose': 'user'}))


def test_ten_thousand_tokens_of_one_policy_share_one_compiled_acl():
    checks, pool = AccessCheckCache(), ValuePool()
    rows = [_row(str(uuid.uuid4())) for _ in range(10_000)]
    cached = [CheckedToken(row, checks, pool) for row in rows]
    assert len(checks) == 1
    assert len({id(token.access) for token in cached}) == 1
    assert len({id(token.acl) for token in cached}) == 1
    assert cached[0].acl == tuple(USER_POLICY)
    assert len({id(token.metadata['tenant_uuid']) for token in cached}) == 1
    assert all(token.metadata['uuid'] is token.auth_id for token in cached)


def test_a_shared_acl_still_answers_for_each_token_s_own_user_and_session():
    checks, pool = AccessCheckCache(), ValuePool()
    mine, theirs = (CheckedToken(_row(str(uuid.uuid4())), checks, pool) for _ in range(2))
    assert mine.access is theirs.access
    for token, other in ((mine, theirs), (theirs, mine)):
        assert TokenChecker.allows(token, f'confd.users.{token.auth_id}.read')
        assert not TokenChecker.allows(token, f'confd.users.{other.auth_id}.read')
        assert TokenChecker.allows(token, f'auth.sessions.{token.session_uuid}.delete')
        assert not TokenChecker.allows(token, f'auth.sessions.{other.session_uuid}.delete')
        assert not TokenChecker.allows(token, f'confd.users.{token.auth_id}.admin.x')
        assert TokenChecker.allows(token, 'confd.users.me.read')
        assert TokenChecker.allows(token, None)


def test_the_pool_shares_short_strings_only_and_stays_bounded():
    pool = ValuePool(max_size=3, max_length=8)
    first = pool.share(_fresh('abc'))
    assert pool.share(_fresh('abc')) is first
    long = _fresh('x' * 9)
    assert pool.share(long) is long and pool.share(_fresh('x' * 9)) is not long
    for word in ('d', 'e', 'f', 'g'):
        pool.share(word)
    assert pool.share(_fresh('abc')) is not first  # emptied once full
    assert pool.share(None) is None and pool.share(3) == 3
