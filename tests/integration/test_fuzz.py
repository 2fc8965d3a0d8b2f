"""Property-based fuzzing of every documented operation with schemathesis (issue 6.1).

Each operation of the served OpenAPI document gets generated requests, valid and invalid, sent
in-process to the WSGI app with a full-access token, and each answer must: not be a 5xx, have a
documented status, content type and body schema, and, when it is an error, be the one envelope
of spec D4 (RFC 6749 bodies on the OAuth 2.0 protocol endpoints, HTML on the pages).

A bounded run is part of the suite (``FUZZ_EXAMPLES`` examples per operation, default 5). Long
run, e.g. before a release::

    FUZZ_EXAMPLES=2000 .venv/bin/pytest tests/integration/test_fuzz.py -q    # or: make fuzz

schemathesis' ``negative_data_rejection`` check is left out on purpose: the API is lenient
where wazo-auth is (JSON ``null`` body, empty list parameters, ``0``/``1`` booleans; see the
document's description), and that check would report each of those deliberate choices.
"""
from __future__ import annotations

import zlib

import pytest
from hypothesis import HealthCheck, settings

from tests.support.admin_client import token_of
from tests.support.credentials import basic
from tests.support.envelope import assert_envelope
from tests.support.fuzz import CHECKS, DOCUMENT, schema, well_formed

# serial: under pytest-xdist schemathesis runs none of the operations (see the Makefile).
pytestmark = pytest.mark.serial


@pytest.fixture
def targets(admin, make_user, login, top_tenant) -> dict[str, str]:
    """Existing resources that generated path parameters are sometimes replaced with, so
    that handlers past the 404 of an unknown uuid get fuzzed too."""
    target = make_user('fuzz-target', acl=['auth.users.me.#'])
    token_of(login, 'fuzz-target')
    session = admin.ok('GET', f'/users/{target}/sessions')['items'][0]['uuid']
    policy = admin.ok('POST', '/policies', json={'name': 'fuzz', 'slug': 'fuzz', 'acl': ['x']})
    client = admin.ok('POST', '/clients', json={'name': 'fuzz'})
    tenant = admin.ok('POST', '/tenants', json={'name': 'fuzz', 'slug': 'fuzz'})
    return {
        'slug': tenant['slug'],
        'user_uuid': str(target), 'session_uuid': session, 'client_uuid': client['uuid'],
        'policy': policy['uuid'] if zlib.crc32(session.encode()) % 2 else policy['slug'],
        'tenant_uuid': tenant['uuid'],
        'parent_tenant_uuid': str(top_tenant),
        'group_uuid': admin.ok('POST', '/groups', json={'name': 'fuzz'})['uuid'],
        'Wazo-Tenant': str(top_tenant),
    }


@schema.parametrize()
# One app per operation: the database state it accumulates across examples is fine here.
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_every_operation_answers_as_documented(case, app, admin, targets):
    _aim(case, targets)
    case.headers = {**(case.headers or {}), 'X-Auth-Token': admin.token}
    case.call_and_validate(base_url=_base_url(case), app=app, checks=CHECKS)


def _aim(case, targets: dict[str, str]) -> None:
    """Point a well-formed Wazo-Tenant at the top tenant (a random one is just a 401), and
    about half of the well-formed path uuids at existing resources (decided by the generated
    value itself, so that a failure replays the same way)."""
    headers = case.headers or {}
    if well_formed(headers.get('Wazo-Tenant')):
        headers['Wazo-Tenant'] = targets['Wazo-Tenant']
    for name, value in (case.path_parameters or {}).items():
        aimable = well_formed(value) or name in ('policy', 'slug')  # a uuid or a slug
        if name in targets and aimable and zlib.crc32(f'{name}{value}'.encode()) % 2:
            case.path_parameters[name] = targets[name]
    if case.operation.path == '/token' and zlib.crc32(repr(case.body).encode()) % 2:
        case.headers = {**(case.headers or {}), **basic('fuzz-target', 's3cret')}


def _base_url(case) -> str:
    """The operation's first server: schemathesis' WSGI transport ignores path-level
    ``servers`` (/metrics and the root /.well-known documents)."""
    item = DOCUMENT['paths'][case.operation.path]
    return 'http://localhost' + (item.get('servers') or DOCUMENT['servers'])[0]['url']


# --- findings of the fuzzer, kept as plain regression tests --------------------------------


@pytest.mark.parametrize('path', ['/tokens?mobile=maybe', '/groups?read_only=0.5',
                                  '/policies?read_only=null', '/clients?public=',
                                  '/users/me/tokens?mobile=2'])
def test_a_bad_boolean_filter_is_400_not_an_empty_list(admin, path):
    """Admin spec §0.4: bad booleans are list-parameter errors (was: 200 and no items)."""
    response = admin.get(path)
    body = assert_envelope(response, 400)
    assert body['error_id'] == 'invalid-list-param'
    assert set(body['details']) == {path.split('?')[1].split('=')[0]}
