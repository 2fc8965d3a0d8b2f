"""JWT access tokens against the real `wazo-like-auth serve` (granian, two workers, debug
logging): issued, checked on every worker's cached path, revoked everywhere, listed in the feed,
and never written to the log in clear."""
from __future__ import annotations

import time

import pytest
import requests

from tests.support.hardened import ADMIN, served
from tests.support.jwt_access import unverified_claims
from tests.support.polling import wait_until
from wazo_like_auth import tokens

pytestmark = pytest.mark.e2e

SCOPE = 'confd.users.read'


@pytest.fixture(scope='module')
def svc(tmp_path_factory, db_uri, engine):
    with served(tmp_path_factory.mktemp('jwt'), db_uri) as svc:
        yield svc


def test_a_served_jwt_is_checked_revoked_listed_and_never_logged(svc):
    base = svc.url('/api/auth/0.1')
    admin = requests.post(f'{base}/token', json={}, auth=ADMIN, timeout=10).json()['data']
    made = requests.post(f'{base}/clients', headers={'X-Auth-Token': admin['token']},
                         json={'client_id': 'billing', 'acl': [SCOPE],
                               'access_token_format': 'jwt'}, timeout=10).json()
    issued = requests.post(f'{base}/oauth2/token', data={'grant_type': 'client_credentials'},
                           auth=('billing', made['client_secret']), timeout=10).json()
    value = issued['access_token']
    check = f'{base}/token/{value}'

    # Enough checks for both workers to answer some from their caches.
    assert all(requests.head(check, params={'scope': SCOPE}, timeout=10).status_code == 204
               for _ in range(20))
    assert requests.head(check, params={'scope': 'auth.users.read'}, timeout=10) \
        .status_code == 403  # a refused check is logged, its token redacted
    assert requests.delete(check, timeout=10).status_code == 200
    # The worker that revoked forgets the token before answering; the other one when its
    # listener gets PostgreSQL's notification, an instant later (README, Performance): a
    # check reaching it in between was still answered 204 now and then.
    assert wait_until(lambda: all(requests.head(check, timeout=10).status_code == 404
                                  for _ in range(20)), 2.0, 0.05)
    revoked = requests.get(f'{base}/tokens/revoked', timeout=10,
                           headers={'X-Auth-Token': admin['token']}).json()

    assert unverified_claims(value)['jti'] in {item['jti'] for item in revoked['items']}
    time.sleep(0.2)
    log = svc.stderr.read_text() + svc.stdout.read_text()
    assert tokens.redact(value) in log
    header, payload, signature = value.split('.')
    assert value not in log and payload not in log and signature not in log
