"""Password hashing (spec D6)."""
from __future__ import annotations

import os
import threading

import pytest

from wazo_like_auth.exceptions import InvalidData, PasswordTooLong
from wazo_like_auth.passwords import PasswordHasher


@pytest.fixture(scope='module')
def hasher():
    return PasswordHasher(rounds=4)


def test_hashed_password_verifies(hasher):
    assert hasher.verify('s3cret', hasher.hash('s3cret'))


def test_wrong_password_does_not_verify(hasher):
    hashed = hasher.hash('s3cret')
    assert not hasher.verify('s3cret ', hashed)
    assert not hasher.verify('S3cret', hashed)
    assert not hasher.verify('', hashed)


def test_hash_is_salted_and_does_not_contain_the_password(hasher):
    first, second = hasher.hash('s3cret'), hasher.hash('s3cret')
    assert first != second
    assert 's3cret' not in first


def test_non_ascii_password_verifies(hasher):
    assert hasher.verify('pässwörd€', hasher.hash('pässwörd€'))
    assert not hasher.verify('passwörd€', hasher.hash('pässwörd€'))


def test_password_of_72_bytes_is_accepted(hasher):
    password = 'a' * 72
    assert hasher.verify(password, hasher.hash(password))


@pytest.mark.parametrize('password', ['a' * 73, 'é' * 37, '€' * 25])
def test_password_over_72_utf8_bytes_is_refused(hasher, password):
    with pytest.raises(PasswordTooLong) as raised:
        hasher.hash(password)
    assert raised.value.status_code == 400
    assert raised.value.error_id == 'password-too-long'


def test_a_password_that_is_no_utf8_text_is_refused_not_a_crash(hasher):
    """A lone surrogate (a YAML escape, a command-line argument that is not UTF-8) cannot be
    encoded for bcrypt: refused as invalid data (400; one line of `bootstrap`), never a
    UnicodeEncodeError."""
    with pytest.raises(InvalidData) as raised:
        hasher.hash('pass\udcff')
    assert raised.value.status_code == 400 and 'password' in raised.value.details


def test_over_long_password_never_matches_its_72_byte_prefix(hasher):
    """Never truncated: bcrypt alone would accept anything sharing the first 72 bytes."""
    hashed = hasher.hash('a' * 72)
    assert not hasher.verify('a' * 72 + 'b', hashed)
    assert not hasher.verify('a' * 100, hashed)


def test_missing_hash_never_verifies(hasher):
    assert not hasher.verify('', None)
    assert not hasher.verify('anything', None)


def test_corrupt_hash_never_verifies(hasher):
    assert not hasher.verify('s3cret', 'not-a-bcrypt-hash')
    assert not hasher.verify('s3cret', '')


def test_hash_made_with_a_lower_cost_needs_rehash():
    old = PasswordHasher(rounds=4).hash('s3cret')
    assert PasswordHasher(rounds=5).needs_rehash(old)


def test_hash_made_with_the_configured_or_higher_cost_needs_no_rehash(hasher):
    assert not hasher.needs_rehash(hasher.hash('s3cret'))
    assert not hasher.needs_rehash(PasswordHasher(rounds=5).hash('s3cret'))


def test_hash_made_with_a_lower_cost_still_verifies():
    old = PasswordHasher(rounds=4).hash('s3cret')
    assert PasswordHasher(rounds=5).verify('s3cret', old)


def test_unreadable_hash_needs_rehash(hasher):
    assert hasher.needs_rehash('garbage')


def test_hash_uses_the_configured_cost():
    assert PasswordHasher(rounds=5).hash('x').split('$')[2] == '05'


def test_hashing_runs_on_its_own_lower_priority_threads():
    hasher = PasswordHasher(rounds=4, concurrency=2)
    hasher.verify('s3cret', hasher.hash('s3cret'))
    pool = [t for t in threading.enumerate() if t.name.startswith('password-hash')]
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert pool
    assert {os.getpriority(os.PRIO_PROCESS, t.native_id) for t in pool} == {min(19, mine + 10)}


def test_a_forked_child_hashes_with_its_own_threads(hasher):
    hashed = hasher.hash('s3cret')  # the parent's pool exists now
    pid = os.fork()
    if pid == 0:  # an inherited pool has no threads: this would hang without a new one
        os._exit(0 if hasher.verify('s3cret', hashed) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
