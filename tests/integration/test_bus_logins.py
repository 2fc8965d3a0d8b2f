"""``auth_session_created`` for every OAuth 2.0 and OpenID Connect login that makes a session,
driven by client libraries against the app served over real HTTP, received on a real
RabbitMQ by a Wazo-style consumer."""
from __future__ import annotations

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.support.bus_events import received
from tests.support.device_flow import Person, poll, start
from tests.support.oidc import REDIRECT, callback_params, register_client, submit

PASSWORD_GRANTS = ['password', 'refresh_token']




def test_password_and_refresh_grants_publish_session_created(api, make_client, make_user,
                                                             publisher, consumer):
    alice = make_user('alice', 's3cret', acl=['confd.#'])
    app = make_client('webapp', grant_types=PASSWORD_GRANTS)
    session = OAuth2Session('webapp', app['client_secret'], scope='offline_access')

    token = session.fetch_token(api.token_url(), username='alice', password='s3cret')
    received(consumer, 'auth_session_created', user_uuid=str(alice))
    received(consumer, 'auth_refresh_token_created', client_id='webapp')
    session.refresh_token(api.token_url(), refresh_token=token['refresh_token'])

    created = received(consumer, 'auth_session_created', count=2, user_uuid=str(alice))
    assert len({m.body['data']['uuid'] for m in created}) == 2
    assert all(m.headers[f'user_uuid:{alice}'] is True for m in created)


def test_client_credentials_session_is_for_every_user_of_its_tenant(api, make_client,
                                                                    publisher, consumer):
    service = make_client('backend', acl=['confd.users.read'])
    session = OAuth2Session('backend', service['client_secret'])

    session.fetch_token(api.token_url(), grant_type='client_credentials')

    [message] = received(consumer, 'auth_session_created', user_uuid=None,
                         tenant_uuid=service['tenant_uuid'])
    assert message.headers['user_uuid:*'] is True  # a session of no user
    assert message.body['data']['mobile'] is False


def test_device_grant_publishes_session_created(api, make_client, make_user, publisher,
                                                consumer, clock):
    alice = make_user('alice', 's3cret', acl=['confd.users.me.read'])
    make_client('tv', public=True, name='Living room TV')
    tv = OAuth2Session('tv', token_endpoint_auth_method='none')
    started = start(api)
    person = Person()
    person.decide(person.sign_in(started['verification_uri_complete'], 'alice', 's3cret'),
                  'approve')
    clock.advance(1)

    token = poll(api, tv, started['device_code'])

    assert token['access_token']
    received(consumer, 'auth_session_created', user_uuid=str(alice))


def test_openid_connect_sign_in_and_code_exchange_publish_their_sessions(
        api, admin_token, make_user, realm, publisher, consumer):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'], acl=['confd.#'])
    client = register_client(api, admin_token, realm['uuid'])
    issuer = f'{api.base}/realms/acme'
    metadata = requests.get(issuer + '/.well-known/openid-configuration', timeout=10).json()
    rp = OAuth2Session(client['client_id'], client['client_secret'], redirect_uri=REDIRECT,
                       scope='openid', code_challenge_method='S256')
    verifier = generate_token(48)
    url, _ = rp.create_authorization_url(metadata['authorization_endpoint'],
                                         code_verifier=verifier, nonce=generate_token(20))
    browser = requests.Session()
    page = browser.get(url, timeout=10, allow_redirects=False)
    params = callback_params(submit(browser, page, username='alice', password='s3cret'))

    rp.fetch_token(metadata['token_endpoint'], code=params['code'], code_verifier=verifier,
                   redirect_uri=REDIRECT)

    # The browser's sign-in session, then the relying party's.
    created = received(consumer, 'auth_session_created', count=2, user_uuid=str(alice))
    assert {m.body['data']['tenant_uuid'] for m in created} == {realm['uuid']}
