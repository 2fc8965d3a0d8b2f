"""List parameters of every refresh-token and session list (wazo-token-api §3.2): a bad value
answers 400 invalid-list-param naming the parameter."""
from __future__ import annotations

import pytest

from tests.support.offline_access import assert_error, auth, refresh_token_of, token_of

ENDPOINTS = ['/0.1/tokens', '/0.1/users/{user}/tokens', '/0.1/users/me/tokens',
             '/0.1/sessions', '/0.1/users/{user}/sessions']

BAD = [('limit', 'abc'), ('limit', '-1'), ('limit', '1.5'), ('limit', '9' * 40),
       ('offset', '-1'), ('offset', 'abc'), ('direction', 'up'), ('order', 'unknown'),
       ('recurse', 'maybe')]


@pytest.fixture
def caller(client, make_user):
    """The uuid and headers of a user allowed on every list, with a refresh token."""
    user = make_user('admin', acl=['auth.#'])
    refresh_token_of(client, 'admin', 'app')
    return user, auth(token_of(client, 'admin'))


@pytest.mark.parametrize('endpoint', ENDPOINTS)
@pytest.mark.parametrize('name,value', BAD)
def test_invalid_list_parameter_is_refused_with_400(client, caller, endpoint, name, value):
    user, headers = caller
    path = endpoint.format(user=user)

    response = client.get(f'{path}?{name}={value}', headers=headers)

    error = assert_error(response, 400, 'invalid-list-param')
    assert list(error['details']) == [name]
    assert name in error['message']


@pytest.mark.parametrize('endpoint', ENDPOINTS)
def test_valid_list_parameters_are_accepted(client, caller, endpoint):
    user, headers = caller
    path = endpoint.format(user=user)

    response = client.get(f'{path}?limit=0&offset=0&direction=desc&recurse=false&search=x',
                          headers=headers)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body['items'] == [] and body['total'] >= 1


@pytest.mark.parametrize('endpoint', ENDPOINTS)
def test_empty_list_parameters_take_their_defaults(client, caller, endpoint):
    user, headers = caller

    response = client.get(f'{endpoint.format(user=user)}?limit=&offset=&order=&direction=',
                          headers=headers)

    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()['items']) >= 1


def test_unknown_list_parameters_are_ignored(client, caller):
    _, headers = caller

    response = client.get('/0.1/tokens?colour=blue', headers=headers)

    assert response.status_code == 200
    assert len(response.get_json()['items']) == 1
