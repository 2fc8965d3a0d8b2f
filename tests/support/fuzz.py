"""The schemathesis set-up shared by the in-process fuzz suite (tests/integration/test_fuzz.py)
and the one over real HTTP (tests/e2e/test_fuzz_served.py): the served OpenAPI document, the
generation settings, and the checks every answer must pass."""
from __future__ import annotations

import json
import os
import uuid

import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from tests.support.envelope import ENVELOPE_KEYS
from wazo_like_auth.http import openapi

EXAMPLES = int(os.environ.get('FUZZ_EXAMPLES', '5'))
HTML_PAGES = ('/device', '/device/decision', '/oauth2/authorize', '/oauth2/authorize/signin',
              '/oauth2/authorize/consent', '/oauth2/logout', '/oauth2/logout/confirm',
              '/users/password/reset/page', '/realms/{slug}/device',
              '/realms/{slug}/device/decision')
REALM_PROTOCOL = '/realms/{slug}/protocol/openid-connect/'
REALM_PAGES = ('auth', 'auth/signin', 'auth/consent', 'logout', 'logout/confirm')
HTML_GETS = ('/emails/{email_uuid}/confirm',)  # the page of a mailed confirmation link

DOCUMENT = openapi.document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                max_examples=EXAMPLES, database='none')
schema.config.phases.update(phases=['examples', 'coverage', 'fuzzing'])


def error_body_is_the_envelope(ctx, response, case) -> None:
    """Every 4xx/5xx body is the envelope (spec D4); OAuth 2.0 protocol errors are RFC 6749
    §5.2 bodies; the pages (device, sign-in, logout, password reset) answer HTML; a HEAD
    answer has no body."""
    path = case.operation.path
    realm_page = path.startswith(REALM_PROTOCOL) and path[len(REALM_PROTOCOL):] in REALM_PAGES
    if response.status_code < 400 or case.method.upper() == 'HEAD' or path in HTML_PAGES \
            or (realm_page and response.status_code != 404):
        return
    if case.method.upper() == 'GET' and path in HTML_GETS:
        return
    if path == '/status' and response.status_code == 503:
        return  # the health report, see test_openapi
    body = json.loads(response.content)
    oauth_protocol = (path.startswith('/oauth2/') or path.startswith(REALM_PROTOCOL)) \
        and response.status_code not in (404, 405, 413)
    if oauth_protocol:
        assert set(body) == {'error', 'error_description'}, body
        return
    assert set(body) - {'resource'} == ENVELOPE_KEYS, body  # resource: admin spec §0.4
    assert isinstance(body['message'], str) and body['reason'] == [body['message']], body
    assert body['status_code'] == response.status_code, body
    assert isinstance(body['details'], dict) and isinstance(body['error_id'], str), body


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, error_body_is_the_envelope]


def well_formed(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
