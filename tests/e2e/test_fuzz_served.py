"""The fuzz suite of tests/integration/test_fuzz.py, sent over real HTTP to the
granian-served process: the same generated requests, the same checks (no 5xx, documented
statuses, content types and schemas, the envelope on errors), with what granian itself does to
a request (header decoding, framing, limits) in the path."""
from __future__ import annotations

import uuid
import zlib

import pytest
import requests
from hypothesis import HealthCheck, settings

from tests.support.hardened import ADMIN, served
from tests.support.fuzz import CHECKS, DOCUMENT, schema, well_formed

# serial: under pytest-xdist schemathesis runs none of the operations (see the Makefile).
pytestmark = [pytest.mark.e2e, pytest.mark.serial]


@pytest.fixture(scope='module')
def svc(tmp_path_factory, db_uri, engine):
    with served(tmp_path_factory.mktemp('fuzz'), db_uri, log_level='warning') as svc:
        yield svc


def _call(svc, token: str, method: str, path: str, status: int = 200, **kwargs) -> dict:
    response = requests.request(method, svc.url('/0.1' + path), timeout=10,
                                headers={'X-Auth-Token': token}, **kwargs)
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


@pytest.fixture(scope='module')
def served_targets(svc) -> dict[str, str]:
    """An admin token and existing resources that path parameters are sometimes aimed at."""
    token = requests.post(svc.url('/0.1/token'), auth=ADMIN, json={'expiration': 3600},
                          timeout=10).json()['data']['token']
    suffix = uuid.uuid4().hex[:8]
    user = _call(svc, token, 'POST', '/users',
                 json={'username': f'fuzz-{suffix}', 'password': 's3cret'})
    login = requests.post(svc.url('/0.1/token'), auth=(f'fuzz-{suffix}', 's3cret'), json={},
                          timeout=10).json()['data']
    policy = _call(svc, token, 'POST', '/policies',
                   json={'name': f'fuzz-{suffix}', 'slug': f'fuzz_{suffix}', 'acl': ['x']})
    top = login['metadata']['tenant_uuid']
    return {
        'token': token, 'user_uuid': user['uuid'], 'session_uuid': login['session_uuid'],
        'client_uuid': _call(svc, token, 'POST', '/clients',
                             json={'name': f'fuzz-{suffix}'})['uuid'],
        'policy': policy['uuid'],
        'tenant_uuid': _call(svc, token, 'POST', '/tenants',
                             json={'name': f'fuzz-{suffix}'})['uuid'],
        'parent_tenant_uuid': top,
        'group_uuid': _call(svc, token, 'POST', '/groups',
                            json={'name': f'fuzz-{suffix}'})['uuid'],
        'Wazo-Tenant': top,
    }


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_every_operation_answers_as_documented_when_served(case, svc, served_targets):
    headers = case.headers or {}
    if well_formed(headers.get('Wazo-Tenant')):
        headers['Wazo-Tenant'] = served_targets['Wazo-Tenant']
    for name, value in (case.path_parameters or {}).items():
        if name in served_targets and (well_formed(value) or name == 'policy') \
                and zlib.crc32(f'{name}{value}'.encode()) % 2:
            case.path_parameters[name] = served_targets[name]
    case.headers = {**headers, 'X-Auth-Token': served_targets['token']}
    item = DOCUMENT['paths'][case.operation.path]
    base = (item.get('servers') or DOCUMENT['servers'])[0]['url']
    case.call_and_validate(base_url=svc.url('') + base, checks=CHECKS, timeout=30)
