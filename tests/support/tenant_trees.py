"""Tenant trees the tests of tenant moves start from."""
from __future__ import annotations


def client_above_a_branch(api, admin_token: str, make_user, make_client) -> tuple[str, str, str]:
    """Tenant acme with a confidential client ``backend`` (password and refresh_token grants),
    its sub-tenant branch, and user dave (password s3cret) in branch; returns acme's and
    branch's uuids and backend's secret."""
    acme = api.admin('POST', '/tenants', admin_token, json={'name': 'acme'}).json()['uuid']
    branch = api.admin('POST', '/tenants', admin_token, json={'name': 'branch'},
                       headers={'Wazo-Tenant': acme}).json()['uuid']
    make_user('dave', 's3cret', tenant_uuid=branch)
    secret = make_client('backend', grant_types=['password', 'refresh_token'],
                         headers={'Wazo-Tenant': acme})['client_secret']
    return acme, branch, secret
