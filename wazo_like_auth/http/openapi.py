"""The OpenAPI 3 document of the service, served at GET /api/api.yml.

Each resource family documents its own endpoints in a fragment, ``http/api/<family>.yml``
(a directory of YAML files, not a Python package: ``http/api.py`` is unrelated). ``base.yml``
holds what every fragment shares (``info``, ``servers``, security schemes, the error envelope);
the others add ``paths``, ``components`` and ``tags``. Whoever adds an endpoint adds or edits the
fragment of its family; tests/integration/test_openapi.py fails while a route is undocumented.

Fragments merge key by key; lists (``tags``) concatenate. Two fragments giving different values
to the same key is a mistake, refused at start-up rather than resolved silently.
"""
from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

FRAGMENTS = Path(__file__).parent / 'api'
BASE = 'base.yml'
MEDIA_TYPE = 'application/x-yaml'
_Loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


class _Dumper(getattr(yaml, 'CSafeDumper', yaml.SafeDumper)):
    def ignore_aliases(self, data):
        return True  # spelled out in full: some OpenAPI tools do not follow YAML aliases


class FragmentClash(ValueError):
    """Two fragments disagree on one key."""


def merge(base: dict, overlay: dict, where: tuple[str, ...] = ()) -> dict:
    """``overlay`` merged into a copy of ``base``: mappings recurse, lists concatenate (equal
    items once), equal scalars stay; raises FragmentClash for any other difference."""
    merged = dict(base)
    for key, value in overlay.items():
        path = (*where, str(key))
        if key not in merged:
            merged[key] = value
        elif isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = merge(merged[key], value, path)
        elif isinstance(merged[key], list) and isinstance(value, list):
            merged[key] = merged[key] + [item for item in value if item not in merged[key]]
        elif merged[key] != value:
            raise FragmentClash(f'{" > ".join(path)}: fragments disagree')
    return merged


def _read(path: Path) -> dict[str, Any]:
    content = yaml.load(path.read_text(encoding='utf-8'), Loader=_Loader)
    if not isinstance(content, dict):
        raise ValueError(f'{path}: an OpenAPI fragment must be a mapping')
    return content


@functools.lru_cache(maxsize=1)
def _merged() -> tuple[dict[str, Any], str]:
    """Loaded once per process: the fragments are package files, they do not change."""
    document = _read(FRAGMENTS / BASE)
    for path in sorted(FRAGMENTS.glob('*.yml')):
        if path.name != BASE:
            try:
                document = merge(document, _read(path))
            except FragmentClash as e:
                raise FragmentClash(f'{path.name}: {e}') from None
    return document, yaml.dump(document, Dumper=_Dumper, sort_keys=False,
                               allow_unicode=True, width=100)


def document() -> dict[str, Any]:
    """The merged document (a copy the caller may change)."""
    return copy.deepcopy(_merged()[0])


def document_yaml() -> str:
    """The merged document as served."""
    return _merged()[1]
