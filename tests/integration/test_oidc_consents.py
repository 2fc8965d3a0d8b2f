"""Revoking a consent ends the access the client got through it (the consent page promises
the application keeps access "until you remove its access"): its refresh tokens for that user
stop working, and its sessions and access tokens for that user fail HEAD /token on every node.
What the user holds elsewhere (other clients, the Wazo API, the browser's sign-in) stays."""
from __future__ import annotations

from urllib.parse import urlencode

import requests

from tests.support.oidc import (REDIRECT, callback_params, realm,  # noqa: F401
                                register_client, submit)
from wazo_like_auth.app import services_of
from wazo_like_auth.oidc.pkce import s256

VERIFIER = 'k' * 50
CONSENT_ACL = ['auth.users.me.consents.read', 'auth.users.me.consents.*.delete']


def _authorize(api, client_id='webapp', **params) -> str:
    query = {'client_id': client_id, 'redirect_uri': REDIRECT, 'response_type': 'code',
             'scope': 'openid profile offline_access', 'state': 'st',
             'code_challenge': s256(VERIFIER), 'code_challenge_method': 'S256', **params}
    return f'{api.base}/realms/acme/protocol/openid-connect/auth?' + urlencode(query)


def _token_url(api) -> str:
    return f'{api.base}/realms/acme/protocol/openid-connect/token'


def _code(api, browser, client_id='webapp') -> str:
    """Sign the browser in (once) and approve the consent page if it is shown: a code."""
    page = browser.get(_authorize(api, client_id), timeout=10, allow_redirects=False)
    if page.status_code == 200 and 'password' in page.text:
        page = submit(browser, page, username='alice', password='s3cret')
    if page.status_code == 200 and 'Allow access?' in page.text:
        page = submit(browser, page, button='approve')
    return callback_params(page)['code']


def _exchange(api, client, code) -> requests.Response:
    return requests.post(_token_url(api), data={
        'grant_type': 'authorization_code', 'code': code, 'redirect_uri': REDIRECT,
        'code_verifier': VERIFIER}, auth=(client['client_id'], client['client_secret']),
        timeout=10)


def _refresh(api, client, refresh_token) -> requests.Response:
    return requests.post(_token_url(api), data={
        'grant_type': 'refresh_token', 'refresh_token': refresh_token},
        auth=(client['client_id'], client['client_secret']), timeout=10)


def _consented(api, admin_token, make_user, realm, **client_fields):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'], acl=CONSENT_ACL)
    client = register_client(api, admin_token, realm['uuid'], require_consent=True,
                             **client_fields)
    browser = requests.Session()
    granted = _exchange(api, client, _code(api, browser)).json()
    assert 'refresh_token' in granted, granted
    return alice, client, browser, granted


def test_removing_my_consent_ends_the_clients_tokens_on_every_node(
        api, admin_token, make_user, realm, oauth_config, engine):
    from tests.support.apps import running_app
    from tests.support.polling import wait_until
    alice, client, browser, granted = _consented(api, admin_token, make_user, realm)
    refreshed = _refresh(api, client, granted['refresh_token']).json()['access_token']
    mine = api.login('alice', 's3cret')
    with running_app(oauth_config, engine) as other_node:
        cache = services_of(other_node).validation_cache
        assert wait_until(lambda: cache.enabled)
        check = other_node.test_client()
        for token in (granted['access_token'], refreshed):
            assert check.head(f'/0.1/token/{token}').status_code == 204  # now cached there

        removed = api.admin('DELETE', f'/users/me/consents/{client["uuid"]}', mine)

        assert removed.status_code == 204
        for token in (granted['access_token'], refreshed):
            assert not api.is_valid(token)
            assert wait_until(lambda: check.head(f'/0.1/token/{token}').status_code == 404, 2.0)
    again = _refresh(api, client, granted['refresh_token'])
    assert again.status_code == 400 and again.json()['error'] == 'invalid_grant'
    assert api.is_valid(mine)  # the Wazo API token that removed it is not the client's
    assert api.admin('GET', '/users/me/consents', mine).json()['total'] == 0


def test_an_administrator_removing_a_consent_leaves_the_users_other_clients_alone(
        api, admin_token, make_user, realm):
    alice, client, browser, granted = _consented(api, admin_token, make_user, realm)
    other = register_client(api, admin_token, realm['uuid'], client_id='notes')
    kept = _exchange(api, other, _code(api, browser, 'notes')).json()

    removed = api.admin('DELETE', f'/users/{alice}/consents/{client["uuid"]}', admin_token)

    assert removed.status_code == 204
    assert not api.is_valid(granted['access_token'])
    assert _refresh(api, client, granted['refresh_token']).status_code == 400
    assert api.is_valid(kept['access_token'])
    assert _refresh(api, other, kept['refresh_token']).status_code == 200
    tokens = api.admin('GET', f'/users/{alice}/tokens', admin_token).json()
    assert [t['client_id'] for t in tokens['items']] == ['notes']
    # The browser stays signed in; the application has to ask again.
    page = browser.get(_authorize(api), timeout=10, allow_redirects=False)
    assert page.status_code == 200 and 'Allow access?' in page.text


def test_a_code_issued_before_the_consent_was_removed_gives_nothing(api, admin_token,
                                                                     make_user, realm):
    alice, client, browser, _ = _consented(api, admin_token, make_user, realm)
    page = browser.get(_authorize(api, prompt='none'), timeout=10, allow_redirects=False)
    code = callback_params(page)['code']

    api.admin('DELETE', f'/users/{alice}/consents/{client["uuid"]}', admin_token)

    late = _exchange(api, client, code)
    assert late.status_code == 400 and late.json()['error'] == 'invalid_grant'


def test_removing_an_unknown_consent_answers_404_and_revokes_nothing(api, admin_token,
                                                                      make_user, realm):
    alice, client, browser, granted = _consented(api, admin_token, make_user, realm)
    api.admin('DELETE', f'/users/{alice}/consents/{client["uuid"]}', admin_token)
    fresh = _exchange(api, client, _code(api, browser)).json()
    bob = make_user('bob', 'b0bpass', tenant_uuid=realm['uuid'])

    for path in (f'/users/{bob}/consents/{client["uuid"]}',
                 f'/users/{alice}/consents/{realm["uuid"]}',
                 f'/users/{alice}/consents/not-a-uuid'):
        assert api.admin('DELETE', path, admin_token).status_code == 404, path
    assert api.is_valid(fresh['access_token'])
    assert _refresh(api, client, fresh['refresh_token']).status_code == 200


def test_the_consent_lists_take_the_list_parameters_as_every_list_does(api, admin_token,
                                                                         make_user, realm):
    # The README and the OpenAPI document promise it of every list: {total, filtered,
    # items}, limit/offset/order/direction/search and strict filters, and a bad value is a
    # 400 invalid-list-param; the consent lists answered {items, total} and ignored them all.
    alice, client, browser, _ = _consented(api, admin_token, make_user, realm)
    notes = register_client(api, admin_token, realm['uuid'], client_id='notes',
                            require_consent=True)
    _exchange(api, notes, _code(api, browser, 'notes'))
    mine = api.login('alice', 's3cret')

    for path, token in ((f'/users/{alice}/consents', admin_token),
                        ('/users/me/consents', mine)):
        listed = api.admin('GET', f'{path}?order=client_id&direction=desc', token).json()
        assert [c['client_id'] for c in listed['items']] == ['webapp', 'notes'], listed
        assert (listed['total'], listed['filtered']) == (2, 2)
        page = api.admin('GET', f'{path}?order=client_id&limit=1&offset=1', token).json()
        assert [c['client_id'] for c in page['items']] == ['webapp'], page
        one = api.admin('GET', f'{path}?client_id=notes', token).json()
        assert (one['total'], one['filtered'], one['items'][0]['client_id']) == (2, 1, 'notes')
        assert api.admin('GET', f'{path}?search=web', token).json()['filtered'] == 1
        bad = api.admin('GET', f'{path}?limit=abc', token)
        assert bad.status_code == 400 and bad.json()['error_id'] == 'invalid-list-param'


def test_a_created_at_filter_postgresql_cannot_read_is_a_400_not_a_500(admin, make_user):
    """2024-01-01T00:00:00+16:00 is ISO 8601 (Python parses it), but PostgreSQL refuses a time
    zone displacement beyond 15:59: the consent lists' new created_at filter answered 500."""
    alice = make_user('alice', 's3cret')
    for path in (f'/users/{alice}/consents', '/users/me/consents'):
        for value in ('2024-01-01T00:00:00+16:00', '9999-12-31T23:59:59-23:59'):
            response = admin.get(path, query={'created_at': value})
            assert response.status_code != 500, (path, value, response.get_data())
            body = response.get_json()
            assert (response.status_code, body.get('error_id')) == (
                400, 'invalid-list-param') or body.get('filtered') == 0, body
