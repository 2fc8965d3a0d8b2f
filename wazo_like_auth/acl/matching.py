"""Compiling an ACL once and matching required accesses against it (the rules are in the
package docstring)."""
from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from threading import Lock

RESERVED = {
    'me': lambda auth_id, session: ('me', auth_id),
    'my_session': lambda auth_id, session: ('my_session', session),
    'edit': lambda auth_id, session: ('edit', 'update'),
}


def _segment_regex(segment: str, auth_id: str | None, session_uuid: str | None) -> str:
    substitute = RESERVED.get(segment)
    if substitute:
        words = [w for w in substitute(auth_id, session_uuid) if w]
        return '(?:' + '|'.join(re.escape(w) for w in words) + ')'
    escaped = re.escape(segment)
    return escaped.replace(r'\*', r'[^.#]*').replace(r'\#', '.*')


def _pattern_regex(pattern: str, auth_id: str | None, session_uuid: str | None) -> str:
    return r'\.'.join(_segment_regex(s, auth_id, session_uuid) for s in pattern.split('.'))


def _alternation(patterns: list[str], auth_id, session_uuid) -> re.Pattern | None:
    if not patterns:
        return None
    body = '|'.join(_pattern_regex(p, auth_id, session_uuid) for p in patterns)
    return re.compile(f'(?:{body})', re.DOTALL)


class AccessCheck:
    """The compiled form of one token's ACL."""

    __slots__ = ('_allow', '_deny')

    def __init__(self, acl: Sequence[str], auth_id: str | None = None,
                 session_uuid: str | None = None):
        positives = [p for p in acl if not p.startswith('!')]
        negatives = [p[1:] for p in acl if p.startswith('!')]
        self._allow = _alternation(positives, auth_id, session_uuid)
        self._deny = _alternation(negatives, auth_id, session_uuid)

    def matches(self, required: str | None) -> bool:
        """True iff the ACL grants ``required``; ``None`` (no scope asked) is always granted."""
        if required is None:
            return True
        if self._deny is not None and self._deny.fullmatch(required):
            return False
        return self._allow is not None and self._allow.fullmatch(required) is not None


class AccessCheckCache:
    """A bounded LRU of compiled ACLs, shared by the requests of one process.

    Tokens of one user share their ACL, so the compiled form is reused across tokens too.
    """

    def __init__(self, max_size: int = 4096):
        self._max_size = max_size
        self._items: OrderedDict[tuple, AccessCheck] = OrderedDict()
        self._lock = Lock()

    def get(self, acl: Sequence[str], auth_id: str | None, session_uuid: str | None) -> AccessCheck:
        key = (tuple(acl), auth_id, session_uuid)
        with self._lock:
            check = self._items.get(key)
            if check is not None:
                self._items.move_to_end(key)
                return check
        check = AccessCheck(acl, auth_id, session_uuid)
        with self._lock:
            self._items[key] = check
            if len(self._items) > self._max_size:
                self._items.popitem(last=False)
        return check
