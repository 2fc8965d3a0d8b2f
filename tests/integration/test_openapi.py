"""GET /api/api.yml: one valid OpenAPI 3 document that describes exactly what is served, and
real answers that match it."""
from __future__ import annotations

import pytest
import yaml
from openapi_spec_validator import validate

from tests.support.admin_client import token_of
from tests.support.credentials import basic
from tests.support.openapi_check import (check_response, documented_operations,
                                             openapi_path, served_operations)
from wazo_like_auth.http import openapi


@pytest.fixture(scope='module')
def document():
    return openapi.document()


@pytest.mark.parametrize('prefix', ['/api/auth/0.1', '/0.1'])
def test_document_is_served_without_authentication_as_yaml(client, prefix, document):
    response = client.get(f'{prefix}/api/api.yml')
    assert response.status_code == 200
    assert response.mimetype == 'application/x-yaml'
    assert yaml.safe_load(response.get_data(as_text=True)) == document


def test_served_document_is_valid_openapi_3(client):
    served = yaml.safe_load(client.get('/api/auth/0.1/api/api.yml').get_data(as_text=True))
    assert served['openapi'].startswith('3.0.')
    validate(served)


def test_document_declares_both_prefixes_and_the_security_schemes(document):
    assert [s['url'] for s in document['servers']] == ['/api/auth/0.1', '/0.1']
    schemes = document['components']['securitySchemes']
    assert schemes['wazo_auth_token'] == {**schemes['wazo_auth_token'], 'type': 'apiKey',
                                          'in': 'header', 'name': 'X-Auth-Token'}
    assert schemes['bearer']['scheme'] == 'bearer'
    assert schemes['wazo_auth_basic']['scheme'] == 'basic'
    assert document['paths']['/token']['post']['security'][0] == {'wazo_auth_basic': []}


def test_every_served_route_is_documented(app, document):
    undocumented = served_operations(app) - documented_operations(document)
    assert not undocumented, sorted(undocumented)


def test_every_documented_operation_is_served(app, document):
    missing = documented_operations(document) - served_operations(app)
    assert not missing, sorted(missing)


def test_every_documented_head_is_served(app, document):
    served = {(openapi_path(rule.rule), 'HEAD') for rule in app.url_map.iter_rules()
              if 'HEAD' in rule.methods}
    assert documented_operations(document, head=True) <= served


def test_every_json_error_answer_is_the_envelope_or_an_oauth_error(document):
    """Outside the OAuth 2.0 protocol endpoints, every documented JSON 4xx/5xx is `Error`.

    GET /status is the one exception: its 503 is the health report (which component failed),
    what monitoring reads, not an error of the request."""
    allowed = {'#/components/schemas/Error', '#/components/schemas/OAuthError'}
    for path, item in document['paths'].items():
        if path == '/status':
            continue
        for method, operation in item.items():
            if not isinstance(operation, dict) or 'responses' not in operation:
                continue
            for status, answer in operation['responses'].items():
                answer = _resolved(document, answer)
                schema = answer.get('content', {}).get('application/json', {}).get('schema')
                if int(status) >= 400 and schema is not None:
                    assert schema.get('$ref') in allowed, (method, path, status)
                    is_oauth = schema['$ref'].endswith('OAuthError')
                    assert is_oauth == _oauth_protocol(path, status), (method, path, status)


def _oauth_protocol(path: str, status: str) -> bool:
    """The OAuth 2.0 protocol endpoints: global ones, and a realm's (whose unknown realm is a
    404 in the envelope)."""
    if path.startswith('/realms/{slug}/protocol/openid-connect/'):
        return status != '404'
    return path.startswith('/oauth2/')


def test_fragments_that_disagree_are_refused():
    base = {'paths': {'/a': {'get': {'summary': 'x'}}}, 'tags': [{'name': 'a'}]}
    merged = openapi.merge(base, {'paths': {'/a': {'put': {}}, '/b': {}},
                                  'tags': [{'name': 'b'}]})
    assert set(merged['paths']['/a']) == {'get', 'put'}
    assert merged['tags'] == [{'name': 'a'}, {'name': 'b'}]
    with pytest.raises(openapi.FragmentClash, match='paths > /a > get > summary'):
        openapi.merge(base, {'paths': {'/a': {'get': {'summary': 'y'}}}})


def _resolved(document, node):
    while '$ref' in node:
        node = document['components']['responses'][node['$ref'].rsplit('/', 1)[1]]
    return node


# --- real answers against the document --------------------------------------------------


class Checked:
    """Sends requests and checks every answer against the document."""

    def __init__(self, client, document, token=None):
        self.client = client
        self.document = document
        self.token = token

    def __call__(self, method: str, path: str, status: int, *, token=..., **kwargs):
        headers = kwargs.pop('headers', {})
        token = self.token if token is ... else token
        if token:
            headers['X-Auth-Token'] = token
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        assert response.status_code == status, (method, path, response.get_data()[:300])
        check_response(self.document, method, path, response)
        return response.get_json(silent=True)


@pytest.fixture
def checked(client, document, make_user, login):
    make_user('root-admin', acl=['#'])
    return Checked(client, document, token_of(login, 'root-admin'))


def test_login_check_and_revocation_answers_match_the_document(checked, make_user, login):
    make_user('alice', acl=['confd.users.read', 'auth.users.me.#'])
    data = checked('POST', '/api/auth/0.1/token', 200, token=None,
                   headers=basic('alice', 's3cret'),
                   json={'access_type': 'offline', 'client_id': 'doc-test'})['data']
    token = data['token']
    checked('POST', '/0.1/token', 200, token=None, headers=basic('', ''),
            json={'refresh_token': data['refresh_token'], 'client_id': 'doc-test'})
    checked('POST', '/0.1/token', 401, token=None, headers=basic('alice', 'wrong'), json={})
    checked('POST', '/0.1/token', 400, token=None, headers=basic('alice', 's3cret'),
            json={'expiration': 0})
    checked('GET', f'/0.1/token/{token}', 200, token=None)
    checked('HEAD', f'/0.1/token/{token}?scope=confd.users.read', 204, token=None)
    checked('GET', f'/0.1/token/{token}?scope=confd.users.delete', 403, token=None)
    checked('GET', '/0.1/token/not-a-token', 404, token=None)
    checked('POST', f'/0.1/token/{token}/scopes/check', 200, token=None,
            json={'scopes': ['confd.users.read', 'x']})
    checked('POST', f'/0.1/token/{token}/scopes/check', 400, token=None, json={})
    checked('GET', '/0.1/tokens', 200)
    checked('GET', '/0.1/tokens?limit=-1', 400)
    checked('GET', '/0.1/users/me/tokens', 200, token=token)
    checked('DELETE', '/0.1/users/me/tokens/doc-test', 204, token=token)
    checked('GET', '/0.1/sessions', 200)
    checked('DELETE', f'/0.1/token/{token}', 200, token=None)
    checked('GET', '/0.1/sessions', 401, token='00000000-0000-0000-0000-000000000000')


def test_administration_answers_match_the_document(checked):
    tenant = checked('POST', '/0.1/tenants', 200, json={'name': 'Doc', 'slug': 'doc',
                                                       'domain_names': ['doc.example.com']})
    t = tenant['uuid']
    checked('GET', '/0.1/tenants', 200)
    checked('GET', f'/0.1/tenants/{t}', 200)
    checked('PUT', f'/0.1/tenants/{t}', 200, json={'name': 'Doc 2'})
    checked('GET', f'/0.1/tenants/{t}/domains', 200)
    checked('POST', '/0.1/tenants', 409, json={'slug': 'doc'})

    user = checked('POST', '/0.1/users', 200, headers={'Wazo-Tenant': t},
                   json={'username': 'bob', 'password': 'pw', 'email_address': 'bob@x.example'})
    u = user['uuid']
    checked('POST', '/0.1/users', 409, json={'username': 'bob'})
    checked('POST', '/0.1/users', 400, json={'purpose': 'nobody'})
    checked('GET', '/0.1/users?recurse=true', 200)
    checked('GET', f'/0.1/users/{u}', 200)
    checked('PUT', f'/0.1/users/{u}', 200, json={'username': 'bob', 'firstname': 'Bob'})
    checked('PUT', f'/0.1/users/{u}/emails', 200,
            json={'emails': [{'address': 'bob@y.example', 'main': True}]})
    checked('PUT', f'/0.1/admin/users/{u}/emails', 200,
            json={'emails': [{'address': 'bob@y.example', 'main': True, 'confirmed': True}]})
    checked('PUT', f'/0.1/users/{u}/password', 204,
            json={'old_password': 'pw', 'new_password': 'pw2'})
    checked('GET', f'/0.1/users/{u}/sessions', 200)
    checked('GET', f'/0.1/users/{u}/tokens', 200)

    policy = checked('POST', '/0.1/policies', 200, json={'name': 'doc', 'acl': ['a.b']})
    p = policy['uuid']
    checked('GET', '/0.1/policies', 200)
    checked('GET', f'/0.1/policies/{p}', 200)
    checked('PUT', f'/0.1/policies/{p}/acl/c.d', 204)
    checked('PUT', f'/0.1/users/{u}/policies/{p}', 204)
    checked('GET', f'/0.1/users/{u}/policies', 200)
    group = checked('POST', '/0.1/groups', 200, headers={'Wazo-Tenant': t}, json={'name': 'g'})
    g = group['uuid']
    checked('GET', '/0.1/groups?recurse=true', 200)
    checked('PUT', f'/0.1/groups/{g}/users/{u}', 204)
    checked('PUT', f'/0.1/groups/{g}/policies/{p}', 204)
    checked('GET', f'/0.1/groups/{g}/users', 200)
    checked('GET', f'/0.1/groups/{g}/policies', 200)
    checked('GET', f'/0.1/users/{u}/groups', 200)
    checked('DELETE', f'/0.1/groups/{g}', 204)
    checked('DELETE', f'/0.1/policies/{p}', 204)
    checked('DELETE', f'/0.1/users/{u}', 204)
    checked('GET', f'/0.1/users/{u}', 404)
    checked('DELETE', f'/0.1/tenants/{t}', 204)
    checked('GET', f'/0.1/tenants/{t}', 404)


def test_service_answers_match_the_document(checked):
    checked('GET', '/0.1/status', 200, token=None)
    checked('HEAD', '/0.1/status', 200, token=None)
    checked('GET', '/0.1/backends', 200, token=None)
    checked('GET', '/0.1/config', 200)
    checked('GET', '/0.1/config', 401, token=None)
    checked('GET', '/0.1/api/api.yml', 200, token=None)
    checked('GET', '/metrics', 200, token=None)
