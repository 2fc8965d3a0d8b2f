"""The global issuer (/api/auth/0.1) takes users of every tenant, and the sign-in page and the
token endpoint agree on which: the users a client serves at every grant, those of its tenant
and of the tenants below. A user of a sub-tenant signs in for a client above; anyone else is
told at the sign-in page, after the password, and gets no sign-in and no code (authlib as the
relying party, the real forms)."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from tests.integration.test_oidc_flow import discover, sign_in_with_authlib, validated_id_token
from tests.support.oidc import REDIRECT, callback_params, realm, register_client  # noqa: F401
from tests.support.oidc import forms_of, submit
from wazo_like_auth.oidc.pkce import s256

VERIFIER = 'g' * 50
OUTSIDE = 'This account cannot sign in to this application.'


@pytest.fixture
def tenants(api, admin_token, realm):
    """top > acme > acme_east, and top > other."""
    def child(parent, name, slug):
        headers = {'Wazo-Tenant': parent} if parent else {}
        return api.admin('POST', '/tenants', admin_token, headers=headers,
                         json={'name': name, 'slug': slug}).json()['uuid']
    return {'top': None, 'acme': realm['uuid'],
            'east': child(realm['uuid'], 'Acme East', 'acme_east'),
            'other': child(None, 'Other', 'other')}


def rp_of(client: dict) -> OAuth2Session:
    return OAuth2Session(client['client_id'], redirect_uri=REDIRECT, scope='openid profile',
                         code_challenge_method='S256', token_endpoint_auth_method='none')


def authorize_url(api, client_id: str, **params) -> str:
    query = {'client_id': client_id, 'redirect_uri': REDIRECT, 'response_type': 'code',
             'scope': 'openid', 'state': 'st', 'code_challenge': s256(VERIFIER),
             'code_challenge_method': 'S256', **params}
    return f'{api.url}/oauth2/authorize?' + urlencode(query)


@pytest.mark.parametrize('client_in, user_in', [('top', 'acme'), ('top', 'east'),
                                                ('acme', 'east'), ('acme', 'acme')])
def test_user_of_the_clients_tenant_tree_signs_in_at_the_global_issuer(
        api, admin_token, make_user, tenants, client_in, user_in):
    carol = make_user('carol', 'pa55word', tenant_uuid=tenants[user_in])
    client = register_client(api, admin_token, tenants[client_in], public=True)
    metadata = discover(f'{api.base}/api/auth/0.1')

    token, nonce = sign_in_with_authlib(api, rp_of(client), metadata, requests.Session(),
                                        username='carol', password='pa55word')

    claims = validated_id_token(metadata, token, client['client_id'], nonce)
    assert claims['sub'] == str(carol) and claims['iss'] == metadata['issuer']
    assert api.is_valid(token['access_token'])


@pytest.mark.parametrize('client_in, user_in', [('east', 'acme'), ('acme', 'top'),
                                                ('acme', 'other')])
def test_user_outside_the_clients_tenants_is_told_at_the_sign_in_page(
        api, admin_token, make_user, tenants, client_in, user_in):
    bob = make_user('bob', 'b0bpass', tenant_uuid=tenants[user_in])
    make_user('carol', 'pa55word', tenant_uuid=tenants[client_in])
    register_client(api, admin_token, tenants[client_in], public=True)
    browser = requests.Session()
    page = browser.get(authorize_url(api, 'webapp'), timeout=10, allow_redirects=False)

    wrong = submit(browser, page, username='bob', password='nope')
    refused = submit(browser, wrong, username='bob', password='b0bpass')

    assert wrong.status_code == 401 and OUTSIDE not in wrong.text  # only after the password
    assert refused.status_code == 403 and OUTSIDE in refused.text
    assert forms_of(refused.text)[0]['action'] == '/api/auth/0.1/oauth2/authorize/signin'
    assert 'wla_signin' not in browser.cookies and 'Location' not in refused.headers
    assert api.admin('GET', f'/users/{bob}/sessions', admin_token).json()['total'] == 0
    # The same form then signs in a user the client serves.
    answer = callback_params(submit(browser, refused, username='carol', password='pa55word'))
    assert answer['code'] and answer['iss'] == f'{api.base}/api/auth/0.1'


def test_browser_signed_in_as_a_user_outside_the_client_is_asked_for_another_account(
        api, admin_token, make_user, tenants):
    make_user('bob', 'b0bpass', tenant_uuid=tenants['acme'])
    carol = make_user('carol', 'pa55word', tenant_uuid=tenants['east'])
    register_client(api, admin_token, public=True)  # top: serves bob
    east_app = register_client(api, admin_token, tenants['east'], client_id='eastapp',
                               public=True)
    browser = requests.Session()
    page = browser.get(authorize_url(api, 'webapp'), timeout=10)
    assert 'code' in callback_params(submit(browser, page, username='bob', password='b0bpass'))

    silent = browser.get(authorize_url(api, 'eastapp', prompt='none'), timeout=10,
                         allow_redirects=False)
    asked = browser.get(authorize_url(api, 'eastapp'), timeout=10, allow_redirects=False)

    assert callback_params(silent)['error'] == 'login_required'
    assert asked.status_code == 403 and OUTSIDE in asked.text
    code = callback_params(submit(browser, asked, username='carol',
                                  password='pa55word'))['code']
    token = requests.post(f'{api.url}/oauth2/token', timeout=10, data={
        'grant_type': 'authorization_code', 'code': code, 'redirect_uri': REDIRECT,
        'code_verifier': VERIFIER, 'client_id': east_app['client_id']})
    assert token.status_code == 200, token.text
    assert api.admin('GET', f'/token/{token.json()["access_token"]}',
                     admin_token).json()['data']['metadata']['uuid'] == str(carol)
