"""Checks of real responses against the served OpenAPI document, shared by the OpenAPI tests."""
from __future__ import annotations

import json
import re

from openapi_schema_validator import OAS30Validator, oas30_format_checker

from wazo_like_auth.http.api import PREFIXES

METHODS = ('get', 'put', 'post', 'delete', 'patch', 'head', 'options')
# werkzeug `<uuid:user_uuid>`, `<policy:policy>`, `<token>` -> OpenAPI `{user_uuid}`...
_CONVERTER = re.compile(r'<(?:[a-zA-Z_]+(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>')


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(r'{\1}', rule)


def served_operations(app) -> set[tuple[str, str]]:
    """(full path template, METHOD) of every route; OPTIONS (automatic) and HEAD (automatic
    for every GET) are left out, documented HEADs are checked separately."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == 'static':
            continue
        for method in rule.methods - {'OPTIONS', 'HEAD'}:
            operations.add((openapi_path(rule.rule), method))
    return operations


def documented_operations(document: dict, *, head: bool = False) -> set[tuple[str, str]]:
    """(full path template, METHOD) of every operation, under each of its servers."""
    operations = set()
    for path, item in document['paths'].items():
        servers = item.get('servers') or document['servers']
        for method in METHODS:
            if method in item and (method != 'head') != head:
                for server in servers:
                    operations.add((server['url'].rstrip('/') + path, method.upper()))
    return operations


def template_of(document: dict, url_path: str) -> str:
    """The document path matching a request path under a prefix (concrete paths first)."""
    for prefix in PREFIXES:
        if url_path.startswith(prefix + '/'):
            url_path = url_path[len(prefix):]
            break
    candidates = sorted(document['paths'], key=lambda p: p.count('{'))
    for template in candidates:
        pattern = '^' + re.sub(r'\\\{[^/]+?\\\}', '[^/]+', re.escape(template)) + '$'
        if re.match(pattern, url_path):
            return template
    raise AssertionError(f'{url_path}: not in the document')


def check_response(document: dict, method: str, url_path: str, response) -> None:
    """Assert ``response`` is documented for ``method url_path``: its status, media type and
    body schema."""
    template = template_of(document, url_path.split('?')[0])
    operation = document['paths'][template].get(method.lower())
    assert operation is not None, f'{method} {template}: not documented'
    status = str(response.status_code)
    documented = operation['responses'].get(status) or operation['responses'].get('default')
    assert documented is not None, f'{method} {template}: {status} not documented'
    documented = _resolve(document, documented)
    content = documented.get('content')
    body = response.get_data()
    if not content:
        assert method.upper() == 'HEAD' or not body, (method, template, status, body[:200])
        return
    media_type = response.headers.get('Content-Type', '').split(';')[0].strip()
    assert media_type in content, f'{method} {template} {status}: {media_type} not in {content}'
    schema = content[media_type].get('schema')
    if schema is None or media_type != 'application/json':
        return
    validator = OAS30Validator({'allOf': [schema], 'components': document['components']},
                               format_checker=oas30_format_checker)
    errors = sorted(validator.iter_errors(json.loads(body)), key=lambda e: e.path)
    assert not errors, f'{method} {template} {status}: ' + '; '.join(
        f'{list(e.path)}: {e.message}' for e in errors[:5])


def _resolve(document: dict, node: dict) -> dict:
    while '$ref' in node:
        target = document
        for part in node['$ref'].removeprefix('#/').split('/'):
            target = target[part]
        node = target
    return node
