"""Cross-origin reads (http/cors.py): the Wazo API allows any origin as wazo-auth does, with
the request headers of ``rest_api.cors.allow_headers``; ``rest_api.cors.enabled: false``
turns every CORS header off, the cached check's included. (A real browser using it:
tests/e2e/test_cors_browser.py.)"""
from __future__ import annotations

import pytest

from tests.support.apps import running_app
from tests.support.credentials import basic
from tests.support.polling import wait_until
from wazo_like_auth.app import services_of

ORIGIN = {'Origin': 'https://webapp.example'}
ASKS_LOGIN = {**ORIGIN, 'Access-Control-Request-Method': 'POST',
              'Access-Control-Request-Headers': 'authorization, content-type'}


@pytest.fixture
def served(make_config, db_uri, engine):
    """A test client of an app built with ``rest_api.cors`` set to ``cors``."""
    apps = []

    def make(**cors):
        config = make_config(db_uri=db_uri, rest_api={'cors': cors})
        context = running_app(config, engine)
        apps.append(context)
        app = context.__enter__()
        # Cached checks are answered before Flask once the cache listens for revocations.
        assert wait_until(lambda: services_of(app).validation_cache.enabled)
        return app.test_client()
    yield make
    for context in apps:
        context.__exit__(None, None, None)


def test_a_login_preflight_allows_wazos_headers_from_any_origin(client):
    answer = client.options('/0.1/token', headers=ASKS_LOGIN)
    assert answer.headers['Access-Control-Allow-Origin'] == '*'
    assert 'POST' in answer.headers['Access-Control-Allow-Methods'].split(', ')
    assert answer.headers['Access-Control-Allow-Headers'] == (
        'Content-Type, Authorization, X-Auth-Token, Wazo-Tenant, Wazo-Session-Type')
    assert 'Access-Control-Allow-Credentials' not in answer.headers


def test_errors_of_the_wazo_api_are_readable_cross_origin(client):
    answer = client.post('/0.1/token', json={}, headers={**ORIGIN, **basic('nobody', 'x')})
    assert answer.status_code == 401
    assert answer.headers['Access-Control-Allow-Origin'] == '*'


def test_the_preflight_allows_the_configured_headers(served):
    client = served(allow_headers=['X-Auth-Token', 'X-Custom'])
    answer = client.options('/api/auth/0.1/users', headers={
        **ORIGIN, 'Access-Control-Request-Method': 'GET'})
    assert answer.headers['Access-Control-Allow-Headers'] == 'X-Auth-Token, X-Custom'


def test_introspection_is_never_readable_cross_origin(client):
    answer = client.post('/0.1/oauth2/introspect', data={'token': 'x'}, headers=ORIGIN)
    assert 'Access-Control-Allow-Origin' not in answer.headers


def test_disabled_cors_answers_no_cors_header_anywhere(served, make_user):
    client = served(enabled=False)
    make_user(acl=['confd.#'])
    login = client.post('/0.1/token', json={}, headers={**ORIGIN, **basic('alice', 's3cret')})
    token = login.get_json()['data']['token']
    answers = [login, client.options('/0.1/token', headers=ASKS_LOGIN),
               client.post('/0.1/oauth2/token', data={'grant_type': 'password'}, headers=ORIGIN),
               client.get('/.well-known/openid-configuration', headers=ORIGIN)]
    answers += [client.head(f'/0.1/token/{token}', headers=ORIGIN) for _ in range(2)]
    assert [a.status_code for a in answers[-2:]] == [204, 204]  # the second one cached
    assert not [a for a in answers if 'Access-Control-Allow-Origin' in a.headers]
