"""Pure OAuth 2.0 protocol helpers: client credentials (RFC 6749 §2.3), scopes (§3.3), user
codes (RFC 8628 §6.1), client registration rules."""
from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from wazo_like_auth.oauth2.clients import (client_credentials, client_id_error,
                                           grant_types_error, scope_string, scope_tokens)
from wazo_like_auth.networks import client_network
from wazo_like_auth.oauth2.device import (USER_CODE_ALPHABET, display_user_code, new_user_code,
                                          normalize_user_code)
from wazo_like_auth.oauth2.errors import InvalidClient, InvalidRequest, InvalidScope
from wazo_like_auth.services.verified_secrets import VerifiedSecrets


def basic(raw: str) -> str:
    return 'Basic ' + base64.b64encode(raw.encode()).decode()


def test_basic_credentials_are_form_decoded_and_the_raw_secret_kept_as_a_fallback():
    found = client_credentials(basic('my%2Eapp:a+b%25c'), {})
    assert (found.client_id, found.method) == ('my.app', 'client_secret_basic')
    assert found.secret_candidates() == ['a b%c', 'a+b%25c']


def test_a_plain_secret_has_one_candidate():
    assert client_credentials(basic('app:plain-secret'), {}).secret_candidates() == \
        ['plain-secret']


def test_form_credentials():
    post = client_credentials(None, {'client_id': 'app', 'client_secret': 's+1'})
    public = client_credentials(None, {'client_id': 'tv'})
    assert (post.method, post.secret_candidates()) == ('client_secret_post', ['s+1'])
    assert (public.method, public.secret) == ('none', None)


@pytest.mark.parametrize('header, form, error', [
    (None, {}, InvalidClient),
    ('Basic !!', {}, InvalidClient),
    (basic('no-colon'), {}, InvalidClient),
    (basic(':secret'), {}, InvalidClient),
    (basic('app:s'), {'client_secret': 's'}, InvalidRequest),
    (basic('app:s'), {'client_id': 'other'}, InvalidRequest),
])
def test_unusable_credentials(header, form, error):
    with pytest.raises(error):
        client_credentials(header, form)


def test_bearer_header_is_not_client_authentication():
    assert client_credentials('Bearer x', {'client_id': 'tv'}).method == 'none'


def test_scope_tokens():
    assert scope_tokens('offline_access  a.b offline_access') == ['offline_access', 'a.b']
    assert scope_tokens(None) == []
    for bad in ('a"b', 'a\\b', 'caf\u00e9'):
        with pytest.raises(InvalidScope):
            scope_tokens(bad)


def test_scope_string_leaves_out_entries_that_are_not_scope_tokens():
    assert scope_string(['confd.#', 'with space', '!x', 'a"b'], ['offline_access']) == \
        'confd.# !x offline_access'


@pytest.mark.parametrize('client_id, ok', [
    ('backend', True), ('a.b_c~d-1', True), ('', False), ('a b', False), ('x' * 129, False),
    ('0e4bc4b1-2c56-4e0a-9d5b-7f0c0d0c0a6f', False), ('0e4bc4b12c564e0a9d5b7f0c0d0c0a6f', False),
    (42, False)])
def test_client_ids(client_id, ok):
    assert (client_id_error(client_id) is None) == ok


def test_grant_types():
    assert grant_types_error(['password', 'refresh_token'], public=True) is None
    assert grant_types_error(['client_credentials'], public=True)
    assert grant_types_error(['implicit'], public=False)
    assert grant_types_error('password', public=False)


def test_user_codes():
    code = new_user_code()
    assert len(code) == 8 and set(code) <= set(USER_CODE_ALPHABET)
    assert normalize_user_code(display_user_code(code).lower()) == code
    assert normalize_user_code(' bcdf - ghjk ') == 'BCDFGHJK'
    for bad in (None, '', 'BCDF-GHJ', 'ABCD-EFGH', 'BCDF-GHJKL', 'x' * 100):
        assert normalize_user_code(bad) is None


def test_verified_secrets_are_bound_to_the_stored_hash_and_expire():
    remembered = VerifiedSecrets(ttl=60)
    remembered.remember('app', 'secret', 'hash-1')
    assert remembered.check('app', 'secret', 'hash-1')
    assert not remembered.check('app', 'secret', 'hash-2')
    assert not remembered.check('app', 'other', 'hash-1')
    assert not remembered.check('other', 'secret', 'hash-1')
    expired = VerifiedSecrets(ttl=-1)
    expired.remember('app', 'secret', 'hash-1')
    assert not expired.check('app', 'secret', 'hash-1')


@pytest.mark.parametrize('address, counted', [
    ('203.0.113.9', '203.0.113.9'), ('2001:db8:0:7::1', '2001:db8:0:7::/64'),
    ('2001:DB8:0:7:ffff:1:2:3', '2001:db8:0:7::/64'), ('::ffff:203.0.113.9', '203.0.113.9'),
    ('', ''), ('not an address', 'not an address')])
def test_user_code_guesses_count_per_ipv4_address_and_ipv6_network(address, counted):
    assert client_network(address) == counted


def _burst(remembered: VerifiedSecrets, secret: str, answer: bool) -> tuple[list[bool], int]:
    """16 verifications of one client's ``secret`` at once, the first one's bcrypt (``verify``,
    answering ``answer``) held until the others have come: their answers, and how many
    bcrypts ran."""
    started, release, calls = threading.Event(), threading.Event(), []

    def verify() -> bool:
        calls.append(secret)
        started.set()
        release.wait(10)
        return answer

    with ThreadPoolExecutor(16) as pool:
        first = pool.submit(remembered.verified, 'app', secret, 'hash-1', verify)
        assert started.wait(10)
        others = [pool.submit(remembered.verified, 'app', secret, 'hash-1', verify)
                  for _ in range(15)]
        time.sleep(0.2)  # the others have asked; each would have started a bcrypt by now
        release.set()
        return [first.result(10)] + [f.result(10) for f in others], len(calls)


def test_a_burst_of_one_clients_requests_spends_one_bcrypt_and_remembers_it():
    remembered = VerifiedSecrets(ttl=60)
    assert _burst(remembered, 'secret', True) == ([True] * 16, 1)
    assert remembered.verified('app', 'secret', 'hash-1', lambda: False)  # remembered


def test_a_burst_with_a_wrong_secret_spends_one_bcrypt_and_is_not_remembered():
    remembered = VerifiedSecrets(ttl=60)
    assert _burst(remembered, 'wrong', False) == ([False] * 16, 1)
    assert _burst(remembered, 'wrong', False) == ([False] * 16, 1)  # verified again
    assert not remembered.check('app', 'wrong', 'hash-1')


def test_when_the_shared_bcrypt_fails_every_request_sharing_it_fails_none_is_told_wrong():
    remembered = VerifiedSecrets(ttl=60)
    started, release = threading.Event(), threading.Event()

    def broken() -> bool:
        started.set()
        release.wait(10)
        raise OSError('the hashing pool is gone')

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(remembered.verified, 'app', 'right', 'hash-1', broken)
        assert started.wait(10)
        others = [pool.submit(remembered.verified, 'app', 'right', 'hash-1', broken)
                  for _ in range(3)]
        time.sleep(0.2)
        release.set()
        with pytest.raises(OSError):
            first.result(10)
        for other in others:  # an error (500), not "invalid_client" for a right secret
            with pytest.raises(RuntimeError):
                other.result(10)
    assert not remembered.check('app', 'right', 'hash-1')
