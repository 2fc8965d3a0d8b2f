"""An HTTP client for the administration API, logged in as a full-access user of the top
tenant; the ``admin`` fixture (a plugin) comes with it."""
from __future__ import annotations

import pytest


class AdminClient:
    """Sends requests with a token (``token=`` overrides) and an optional Wazo-Tenant."""

    def __init__(self, client, token: str, prefix: str = '/0.1'):
        self.client = client
        self.token = token
        self.prefix = prefix

    def request(self, method: str, path: str, *, json=None, tenant=None, token=None,
                data=None, query=None):
        headers = {'X-Auth-Token': token or self.token}
        if tenant is not None:
            headers['Wazo-Tenant'] = str(tenant)
        return self.client.open(self.prefix + path, method=method, json=json, data=data,
                                headers=headers, query_string=query)

    def get(self, path, **kwargs):
        return self.request('GET', path, **kwargs)

    def post(self, path, **kwargs):
        return self.request('POST', path, **kwargs)

    def put(self, path, **kwargs):
        return self.request('PUT', path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request('DELETE', path, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs):
        """The JSON body of a request that must answer ``status``."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, (response.status_code, response.get_data())
        return response.get_json() if response.get_data() else None


def token_of(login, username: str, password: str = 's3cret') -> str:
    response = login(username, password)
    assert response.status_code == 200, response.get_json()
    return response.get_json()['data']['token']


@pytest.fixture
def admin(client, make_user, login):
    make_user('root-admin', acl=['#'])
    return AdminClient(client, token_of(login, 'root-admin'))
