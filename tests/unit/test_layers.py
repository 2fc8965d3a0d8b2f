"""The layer map of the README (Development): each top-level package or module of
wazo_like_auth/ belongs to a layer and imports only its own layer and the layers below; and no
top-level units import each other around a loop.

Imports are read from the source (ast): every ``import`` statement wherever it is (inside
functions too), except under ``if TYPE_CHECKING:`` (annotations only, nothing imported at run
time).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / 'wazo_like_auth'

# Top first; the README's Development section shows the same map.
LAYERS: list[tuple[str, set[str]]] = [
    ('entry points', {'cli', 'commands', 'key_commands', 'server', 'stopping'}),
    ('composition root', {'app', 'composition', 'mail_wiring', 'oauth_wiring'}),
    ('http', {'http'}),
    ('services', {'services'}),
    ('repositories', {'repositories'}),
    ('schema', {'models', 'oauth_models', 'oidc_models', 'event_models', 'mail_models', 'db',
                'prepared', 'migrations'}),
    ('client library', {'client', 'client_errors', 'verifier'}),
    ('foundations', {'oauth2', 'oidc', 'acl', 'tokens', 'passwords', 'exceptions', 'slugs', 'clock',
                     'config', 'config_defaults', 'config_values', 'config_checks', 'config_view',
                     'config_secret',
                     'metrics', 'logs', 'embedded_db', 'mail', 'mail_settings', 'mail_tokens', 'bus',
                     'networks', 'db_uri', 'bounded_http', 'usernames'}),
]


def layer_of(unit: str) -> int:
    for index, (_, units) in enumerate(LAYERS):
        if unit in units:
            return index
    raise AssertionError(f'{unit} is in no layer: add it to LAYERS and to the README map')


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and 'TYPE_CHECKING' in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    return skipped


def _targets(node: ast.AST, package: list[str]) -> list[list[str]]:
    """Dotted names (as parts, under wazo_like_auth) that an import statement imports."""
    if isinstance(node, ast.Import):
        return [alias.name.split('.')[1:] for alias in node.names
                if alias.name.split('.')[0] == 'wazo_like_auth']
    if not isinstance(node, ast.ImportFrom):
        return []
    if not node.level:
        parts = (node.module or '').split('.')
        return [parts[1:]] if parts[0] == 'wazo_like_auth' else []
    base = package[:len(package) - node.level + 1] + (node.module or '').split('.')
    base = [part for part in base if part]
    return [base] if base else [[alias.name] for alias in node.names]


def imported_units(path: Path, root: Path = PACKAGE) -> set[str]:
    """The top-level units of wazo_like_auth that the module at ``path`` (under ``root``)
    imports, its own unit excepted."""
    parts = list(path.relative_to(root).with_suffix('').parts)
    package = parts[:-1]  # a package's __init__ imports relative to the package itself
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_nodes(tree)
    found = {target[0] for node in ast.walk(tree) if id(node) not in skipped
             for target in _targets(node, package) if target}
    return found - {parts[0]}


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Top-level unit -> the top-level units it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob('*.py')):
        if path.parent == root and path.name == '__init__.py':
            continue
        unit = path.relative_to(root).parts[0].removesuffix('.py')
        graph.setdefault(unit, set()).update(imported_units(path, root))
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop between units, as the list of its units, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(unit: str) -> list[str] | None:
        state[unit] = 'open'
        stack.append(unit)
        for target in sorted(graph.get(unit, ())):
            if state.get(target) == 'open':
                return stack[stack.index(target):] + [target]
            if target not in state and (loop := visit(target)):
                return loop
        state[unit] = 'done'
        stack.pop()
        return None

    for unit in sorted(graph):
        if unit not in state and (loop := visit(unit)):
            return loop
    return None


GRAPH = import_graph()


@pytest.mark.parametrize('unit', sorted(GRAPH))
def test_no_unit_imports_a_layer_above_its_own(unit):
    above = sorted(t for t in GRAPH[unit] if layer_of(t) < layer_of(unit))
    assert not above, f'{unit} ({LAYERS[layer_of(unit)][0]}) imports {above} from above'


def test_no_import_cycle_between_top_level_units():
    loop = cycle_in(GRAPH)
    assert loop is None, 'import cycle: ' + ' -> '.join(loop)


# Statement builders and execution: a service asks a repository instead.
SQL_NAMES = {'select', 'insert', 'update', 'delete', 'text', 'func', 'exists', 'literal',
             'literal_column', 'and_', 'or_', 'cast', 'tuple_', 'union_all', 'bindparam'}
SQL_CALLS = {'execute', 'scalars', 'scalar'}


def sql_in(path: Path) -> list[str]:
    """Where the module at ``path`` builds or runs SQL (line: what)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or '').startswith('sqlalchemy'):
            found += [f'{node.lineno}: imports {alias.name}' for alias in node.names
                      if alias.name in SQL_NAMES or 'dialects' in node.module]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in SQL_CALLS:
            found.append(f'{node.lineno}: .{node.func.attr}()')
    return found


@pytest.mark.parametrize('path', sorted((PACKAGE / 'services').rglob('*.py')),
                         ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_service_module_contains_sql(path):
    assert sql_in(path) == []


def test_the_checks_see_an_upward_import_a_cycle_and_skip_type_only_imports(tmp_path):
    (tmp_path / 'repositories').mkdir()
    probe = tmp_path / 'repositories' / 'probe.py'
    probe.write_text('from typing import TYPE_CHECKING\n'
                     'from ..services import users\n'
                     'from . import tokens\n'
                     'def late():\n    import wazo_like_auth.http.api\n'
                     'if TYPE_CHECKING:\n    from ..app import Flask\n')
    assert imported_units(probe, tmp_path) == {'services', 'http'}
    assert layer_of('services') < layer_of('repositories')
    assert cycle_in({'services': {'oauth2'}, 'oauth2': {'services'}}) == \
        ['oauth2', 'services', 'oauth2']
    assert cycle_in({'services': {'oauth2'}, 'oauth2': set()}) is None
    probe.write_text('from sqlalchemy import select\n'
                     'def f(db):\n    return db.scalars(select(1))\n')
    assert sql_in(probe) == ['1: imports select', '3: .scalars()']
