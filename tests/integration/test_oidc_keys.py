"""ID-token signing keys: encrypted at rest; a rotated key is published at once and signs
once the certs max-age has passed (at once with ``now``, or when it is the first), on every
node; the old key stays published until its last token expires, then it goes; ES256 on
request."""
from __future__ import annotations

import datetime as dt

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import text

from wazo_like_auth import db
from wazo_like_auth.exceptions import SigningKeysUnreadable, UnknownSigningKey
from wazo_like_auth.oidc import keys
from wazo_like_auth.services.signing_keys import PREPUBLISH, SKEW, SigningKeyService

SECRET = b'k' * 40


class Clock:
    def __init__(self):
        self.now = dt.datetime.now(dt.timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def empty_keys(engine):
    with engine.begin() as conn:
        conn.execute(text('DELETE FROM auth_signing_key'))
    yield
    with engine.begin() as conn:
        conn.execute(text('DELETE FROM auth_signing_key'))


def service(engine, clock, secret=SECRET, algorithm='RS256', lifetime=3600):
    return SigningKeyService(sessions=db.make_sessionmaker(engine), secret=secret,
                             algorithm=algorithm, token_lifetime=lifetime, clock=clock)


def kids(jwks: dict) -> list[str]:
    return [k['kid'] for k in jwks['keys']]


def test_private_key_is_stored_encrypted(engine, empty_keys):
    active = service(engine, Clock()).active()
    with engine.connect() as conn:
        stored = conn.execute(text('SELECT private_ciphertext, public_jwk FROM '
                                   'auth_signing_key')).one()
    private = active.key.as_dict(private=True)
    assert private['d'].encode() not in stored.private_ciphertext
    assert 'd' not in stored.public_jwk
    with pytest.raises(keys.UnreadableKey):
        keys.private_key(active.kid, stored.private_ciphertext, keys.encryption_key(b'o' * 40))


def test_rotation_publishes_the_new_key_at_once_and_signs_with_it_after_the_certs_max_age(
        engine, empty_keys):
    clock = Clock()
    keys_service = service(engine, clock, lifetime=3600)
    old = keys_service.active().kid
    clock.now += dt.timedelta(seconds=1)

    new = keys_service.rotate().kid

    assert kids(keys_service.jwks()) == [new, old]  # published at once...
    assert keys_service.active().kid == old  # ...signing once caches of certs have it
    clock.now += PREPUBLISH - dt.timedelta(seconds=1)
    assert keys_service.active().kid == old
    clock.now += dt.timedelta(seconds=1)
    assert keys_service.active().kid == new
    # The old key signed until then: published until its last token expires.
    clock.now += dt.timedelta(seconds=3600) + SKEW - dt.timedelta(seconds=1)
    assert old in kids(keys_service.jwks())
    clock.now += dt.timedelta(seconds=2)
    assert kids(keys_service.jwks()) == [new]
    keys_service.rotate()
    with engine.connect() as conn:
        remaining = conn.execute(text('SELECT kid FROM auth_signing_key')).scalars().all()
    assert old not in remaining  # deleted at the next rotation


def test_rotation_now_signs_at_once_and_drops_a_key_waiting_its_turn(engine, empty_keys):
    clock = Clock()
    keys_service = service(engine, clock, lifetime=3600)
    old = keys_service.active().kid
    waiting = keys_service.rotate().kid
    clock.now += dt.timedelta(seconds=1)

    urgent = keys_service.rotate(now=True)

    assert urgent.state == 'signing' and keys_service.active().kid == urgent.kid
    assert kids(keys_service.jwks()) == [urgent.kid, old]  # the waiting key signed nothing
    clock.now += PREPUBLISH + dt.timedelta(seconds=1)
    assert keys_service.active().kid == urgent.kid != waiting
    clock.now += dt.timedelta(seconds=3600) + SKEW
    assert kids(keys_service.jwks()) == [urgent.kid]


def test_the_first_key_signs_at_once_even_when_made_by_rotate(engine, empty_keys):
    keys_service = service(engine, Clock())
    first = keys_service.rotate()
    assert first.state == 'signing' and keys_service.active().kid == first.kid


def test_every_node_signs_with_the_rotated_key_only_after_the_delay(engine, empty_keys):
    node_a, node_b = Clock(), Clock()
    first, second = service(engine, node_a), service(engine, node_b)
    old = first.active().kid
    assert second.active().kid == old

    new = first.rotate().kid

    assert kids(second.jwks()) == [new, old]
    node_b.now += PREPUBLISH - dt.timedelta(seconds=1)
    assert second.active().kid == old
    node_b.now += dt.timedelta(seconds=1)
    assert second.active().kid == new
    assert first.active().kid == old  # node A's clock has not got there yet


def test_es256_keys_sign_tokens_that_verify_against_the_jwks(engine, empty_keys):
    keys_service = service(engine, Clock(), algorithm='ES256')
    active = keys_service.active()
    token = jwt.encode({'alg': 'ES256', 'kid': active.kid}, {'sub': 'x'}, active.key,
                       algorithms=['ES256'])
    verified = jwt.decode(token, KeySet.import_key_set(keys_service.jwks()),
                          algorithms=['ES256'])
    assert active.alg == 'ES256' and verified.claims == {'sub': 'x'}


def test_keys_of_another_secret_are_skipped_and_replaced(engine, empty_keys):
    clock = Clock()
    old = service(engine, clock, secret=b'a' * 40).active().kid
    new = service(engine, clock, secret=b'b' * 40).active().kid
    assert new != old


def states(keys_service) -> dict[str, str]:
    return {key.kid: key.state for key in keys_service.states()}


def test_keys_are_listed_with_their_state(engine, empty_keys):
    clock = Clock()
    keys_service = service(engine, clock, lifetime=3600)
    assert keys_service.states() == []
    old = keys_service.active().kid
    clock.now += dt.timedelta(seconds=1)
    new = keys_service.rotate()
    assert states(keys_service) == {old: 'signing', new.kid: 'published-next'}
    assert new.signs_from == clock.now + PREPUBLISH
    clock.now += PREPUBLISH
    listed = {key.kid: key for key in keys_service.states()}
    assert states(keys_service) == {old: 'retiring', new.kid: 'signing'}
    assert listed[old].retire_at == new.signs_from + dt.timedelta(seconds=3600) + SKEW


def test_retiring_a_waiting_key_keeps_the_signing_key_for_good(engine, empty_keys):
    clock = Clock()
    keys_service = service(engine, clock, lifetime=3600)
    signing = keys_service.active().kid
    clock.now += dt.timedelta(seconds=1)
    waiting = keys_service.rotate().kid

    retired = keys_service.retire(waiting)

    assert retired.successor is None and kids(keys_service.jwks()) == [signing]
    clock.now += dt.timedelta(days=1)  # long after the retired key would have signed
    assert keys_service.active().kid == signing and kids(keys_service.jwks()) == [signing]


def test_retiring_the_signing_key_hands_signing_to_the_waiting_key_at_once(engine, empty_keys):
    clock = Clock()
    keys_service = service(engine, clock, lifetime=3600)
    leaked = keys_service.active().kid
    clock.now += dt.timedelta(seconds=1)
    waiting = keys_service.rotate().kid

    retired = keys_service.retire(leaked)

    assert retired.successor.kid == waiting and retired.successor.state == 'signing'
    assert keys_service.active().kid == waiting and kids(keys_service.jwks()) == [waiting]


def test_retiring_the_only_key_makes_a_new_one_that_signs_at_once(engine, empty_keys):
    clock = Clock()
    first, other_node = service(engine, clock), service(engine, clock)
    leaked = first.active().kid
    assert other_node.active().kid == leaked  # cached there, decrypted

    retired = first.retire(leaked)

    assert retired.successor.kid != leaked
    assert other_node.active().kid == retired.successor.kid
    assert kids(other_node.jwks()) == [retired.successor.kid]


def test_retiring_a_retiring_key_only_unpublishes_it(engine, empty_keys):
    clock = Clock()
    keys_service = service(engine, clock)
    old = keys_service.active().kid
    clock.now += dt.timedelta(seconds=1)
    new = keys_service.rotate(now=True).kid
    assert kids(keys_service.jwks()) == [new, old]

    assert keys_service.retire(old).successor is None

    assert kids(keys_service.jwks()) == [new] and keys_service.active().kid == new


def test_retiring_an_unknown_key_is_an_error(engine, empty_keys):
    keys_service = service(engine, Clock())
    keys_service.active()
    with pytest.raises(UnknownSigningKey):
        keys_service.retire('no-such-kid')


def _lagging_nodes() -> tuple[Clock, Clock]:
    """The clocks of two nodes, the second a second behind the first."""
    node_a, node_b = Clock(), Clock()
    node_b.now = node_a.now - dt.timedelta(seconds=1)
    return node_a, node_b


def test_a_node_whose_clock_lags_signs_with_the_key_another_node_just_made(engine, empty_keys):
    # Two nodes start together; B's clock is a second behind A's (NTP keeps them close, not
    # equal). A makes the first key, signing from A's now: B must sign with it too, not
    # replace it (deleting a key A already signed tokens with).
    node_a, node_b = _lagging_nodes()
    first, second = service(engine, node_a), service(engine, node_b)
    made = first.active().kid

    assert second.active().kid == made
    assert kids(first.jwks()) == [made] and first.active().kid == made


def test_a_rotation_on_a_node_whose_clock_lags_keeps_the_key_just_made(engine, empty_keys):
    node_a, node_b = _lagging_nodes()
    first, operator = service(engine, node_a), service(engine, node_b)
    made = first.active().kid

    new = operator.rotate()

    assert new.state == 'published-next'  # not a first key: one signs already
    assert kids(first.jwks()) == [new.kid, made] and first.active().kid == made


def test_retiring_the_only_key_hands_signing_to_a_node_whose_clock_lags(engine, empty_keys):
    node_a, node_b = _lagging_nodes()
    first, second = service(engine, node_a), service(engine, node_b)
    leaked = first.active().kid

    successor = first.retire(leaked).successor.kid

    assert second.active().kid == successor
    assert kids(first.jwks()) == [successor] and first.active().kid == successor


def test_a_rotation_under_another_token_secret_is_refused_and_changes_nothing(
        engine, empty_keys):
    # The operator ran the command without the service's token_secret (another state_dir):
    # a key made there would never sign on the service, yet cut short its signing key.
    clock = Clock()
    node = service(engine, clock, secret=b'a' * 40)
    signing = node.active().kid

    for now in (False, True):
        with pytest.raises(SigningKeysUnreadable, match='token_secret'):
            service(engine, clock, secret=b'w' * 40).rotate(now=now)

    assert kids(node.jwks()) == [signing]
    assert [(key.state, key.retire_at) for key in node.states()] == [('signing', None)]


def test_retiring_a_key_that_does_not_sign_under_another_token_secret_makes_no_key(
        engine, empty_keys):
    clock = Clock()
    node = service(engine, clock, secret=b'a' * 40)
    old = node.active().kid
    clock.now += dt.timedelta(seconds=1)
    signing = node.rotate(now=True).kid

    retired = service(engine, clock, secret=b'w' * 40).retire(old)  # it leaked

    assert retired.successor is None and kids(node.jwks()) == [signing]
    assert [(key.state, key.retire_at) for key in node.states()] == [('signing', None)]


def test_rotate_now_on_a_node_whose_clock_lags_keeps_the_key_another_node_signs_with(
        engine, empty_keys):
    # Node A (a second ahead) made a key that signs at once (its first key here; as well a
    # `keys retire` hand-over or a `rotate --now`) and signed with it. `keys rotate --now` run
    # at once on node B took that key for one "waiting its turn" (it signs from A's now,
    # after B's) and deleted it: off certs, and the JWT access tokens it signed deleted
    # (cascade), though A had issued them. It should retire like any key that has signed.
    node_a, node_b = _lagging_nodes()
    first, operator = service(engine, node_a), service(engine, node_b)
    made = first.active().kid

    new = operator.rotate(now=True)

    assert new.state == 'signing'
    assert made in kids(first.jwks())
    assert first.active().kid == operator.active().kid == new.kid  # and signs on both nodes
