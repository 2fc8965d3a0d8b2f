"""Compiling an ACL once and matching required accesses against it (the rules are in the
package docstring)."""
from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from threading import Lock

from .linear import Budget, Exhausted, LinearPattern, risky

# What `me` and `my_session` may stand for: one segment. A token's auth_id is its user's uuid,
# or, for a client's own token, its client_id, which may hold dots ('com.example.app'): read
# as `me` it would span segments, and a client named '<someone's uuid>.voicemail' holding
# `confd.users.me.#` (granted by anyone holding that for themselves) would reach
# `confd.users.<uuid>.voicemail.update`. Such a token's `me` stands for nothing.
_ONE_SEGMENT = re.compile(r'[^.*#]+')


def one_segment(word: str | None) -> str | None:
    return word if word and _ONE_SEGMENT.fullmatch(word) else None


RESERVED = {
    'me': lambda auth_id, session: ('me', auth_id),
    'my_session': lambda auth_id, session: ('my_session', session),
    'edit': lambda auth_id, session: ('edit', 'update'),
}

# -- One compiled form per ACL, shared by every token holding it (issue 14) ----------------------
#
# The shared form compiles a `me` segment to (?:me|ME) and `my_session` to (?:my_session|
# MY_SESSION), ME and MY_SESSION being two sentinel characters; `*` and `#` read neither, and a
# sentinel written in a pattern reads nothing. At match time, a required string r (holding no
# sentinel) is tried as every r_T: r with a set T of disjoint, dot-bounded (preceded by the
# start or `.`, followed by `.` or the end) occurrences of the auth_id replaced by ME and of the
# session by MY_SESSION, T empty included. Claim: a pattern's exact form (the token's auth_id
# and session compiled in as the alternatives) matches r iff its shared form matches some r_T.
# - Exact matches r: let T be the occurrences its `me`/`my_session` segments read as the auth_id
#   or session; dot-bounded, as a whole segment sits between `\.`s or the anchors; disjoint, as
#   one match reads each character once. Reading the sentinel there instead, and every other
#   character as before (none is a sentinel), the shared form matches r_T.
# - Shared matches r_T: only a `me` (`my_session`) segment can read ME (MY_SESSION), so every
#   sentinel is an occurrence read by one; reading the auth_id (session) there instead, and
#   every other character as before, the exact form matches r.
# Hence r is denied iff a negative matches some r_T, else granted iff a positive matches some
# r_T: not necessarily the same r_T (`x.*` and `!x.me` deny `x.<auth_id>`). A required string
# holding a sentinel, or more than _MAX_OCCURRENCES occurrences, goes to the exact form.
# (Replacing the auth_id by the word `me` instead would be wrong: `x.m*` would grant it.)

_ME, _MY_SESSION = '\x00', '\x01'
_MAX_OCCURRENCES = 4  # at most 2**4 = 16 variants of a required string are tried
_SHARED_WORDS = {'me': r'(?:me|\x00)', 'my_session': r'(?:my_session|\x01)',
                 'edit': '(?:edit|update)'}


def _shared_pattern(pattern: str) -> str:
    return r'\.'.join(_shared_segment(s) for s in pattern.split('.'))


def _shared_segment(segment: str) -> str:
    word = _SHARED_WORDS.get(segment)
    if word:
        return word
    escaped = re.escape(segment)  # leaves the sentinels as they are: not special characters
    escaped = escaped.replace(_ME, '(?!)').replace(_MY_SESSION, '(?!)')
    return escaped.replace(r'\*', r'[^.#\x00\x01]*').replace(r'\#', r'[^\x00\x01]*')


def _exact_pattern(pattern: str, auth_id: str | None, session_uuid: str | None) -> str:
    """The token's own words compiled in (the form before issue 14; now the fallback)."""
    return r'\.'.join(_exact_segment(s, auth_id, session_uuid) for s in pattern.split('.'))


def _exact_segment(segment: str, auth_id: str | None, session_uuid: str | None) -> str:
    substitute = RESERVED.get(segment)
    if substitute:
        words = [w for w in substitute(auth_id, session_uuid) if w]
        return '(?:' + '|'.join(re.escape(w) for w in words) + ')'
    escaped = re.escape(segment)
    return escaped.replace(r'\*', r'[^.#]*').replace(r'\#', '.*')


def _shared_linear(pattern: str) -> LinearPattern:
    """The shared form of a risky pattern (linear.py), reading what _shared_pattern reads."""
    return LinearPattern(pattern, _SHARED_LINEAR_WORDS, '.#' + _ME + _MY_SESSION,
                         _ME + _MY_SESSION, unreadable=_ME + _MY_SESSION)


_SHARED_LINEAR_WORDS = {'me': ('me', _ME), 'my_session': ('my_session', _MY_SESSION),
                        'edit': ('edit', 'update')}


def _exact_linear(pattern: str, auth_id: str | None, session_uuid: str | None) -> LinearPattern:
    words = {word: [w for w in substitute(auth_id, session_uuid) if w]
             for word, substitute in RESERVED.items()}
    return LinearPattern(pattern, words, '.#', '')


def _alternation(patterns: list[str], compile_one) -> re.Pattern | None:
    if not patterns:
        return None
    body = '|'.join(compile_one(p) for p in patterns)
    return re.compile(f'(?:{body})', re.DOTALL)


class AccessCheck:
    """The compiled form of one ACL, shared by every token holding it: the token's auth_id
    and session uuid are given to ``matches``. Immutable, so safe to share across threads."""

    __slots__ = ('acl', '_fullmatch', '_linear')

    def __init__(self, acl: Sequence[str]):
        self.acl = tuple(acl)
        # One regex, negatives first in a group: a full match reads the first alternative
        # that matches the whole string, so it reads a negative whenever one matches, and
        # m.lastindex (1, or None when no group took part) tells a denial from a grant.
        # Risky patterns (linear.py) stay out of it: (negatives, positives) matched linearly,
        # None when there is none (nearly always).
        negatives = [_shared_pattern(p[1:]) for p in self.acl
                     if p.startswith('!') and not risky(p[1:])]
        positives = [_shared_pattern(p) for p in self.acl
                     if not p.startswith('!') and not risky(p)]
        slow = ([_shared_linear(p[1:]) for p in self.acl if p.startswith('!') and risky(p[1:])],
                [_shared_linear(p) for p in self.acl if not p.startswith('!') and risky(p)])
        self._linear = slow if slow[0] or slow[1] else None
        either = ([f'({"|".join(negatives)})'] if negatives else []) + positives
        self._fullmatch = re.compile('|'.join(either) if either else '(?!)', re.DOTALL).fullmatch

    @property
    def costly(self) -> bool:
        """Whether the ACL holds risky patterns (linear.py): a check may then spend a
        ``Budget``, so it should be made once per request, not tried twice."""
        return self._linear is not None

    def matches(self, required: str | None, auth_id: str | None = None,
                session_uuid: str | None = None, budget: Budget | None = None) -> bool:
        """True iff the ACL, held by a token of ``auth_id`` and ``session_uuid``, grants
        ``required``; ``None`` (no scope asked) is always granted. ``budget``: the steps risky
        patterns may take (linear.py), shared by the checks of one request; a fresh one by
        default. When it runs out, ``required`` is refused."""
        return self.matches_words(required, one_segment(auth_id), one_segment(session_uuid),
                                  budget)

    def matches_words(self, required: str | None, auth_id: str | None,
                      session_uuid: str | None, budget: Budget | None = None) -> bool:
        """``matches``, given what ``me`` and ``my_session`` stand for: ``one_segment`` of the
        token's auth_id and session uuid (a cached token keeps them)."""
        if required is None:
            return True
        if budget is None and self._linear is not None:
            budget = Budget()  # one for every variant and fallback of this check
        if _ME in required or _MY_SESSION in required:
            return ExactAccessCheck(self.acl, auth_id, session_uuid).matches(required, budget)
        # A word that does not occur in ``required`` is read by no match: dropped from here on.
        mine = auth_id if auth_id and auth_id in required else None
        ours = session_uuid if session_uuid and session_uuid in required else None
        if mine or ours:
            return self._matches_variants(required, mine, ours, budget)
        if self._linear is None:
            found = self._fullmatch(required)
            return found is not None and found.lastindex is None
        return self._verdict(required, budget) is True

    def _verdict(self, required: str, budget: Budget | None) -> bool | None:
        """False when a negative matches ``required`` (or ``budget``, given when the ACL has
        risky patterns, runs out first), else True when a positive does, else None."""
        found = self._fullmatch(required)
        if found is not None and found.lastindex is not None:
            return False
        if self._linear is not None:
            negatives, positives = self._linear
            try:
                if any(pattern.matches(required, budget) for pattern in negatives):
                    return False
                if found is None and any(pattern.matches(required, budget)
                                         for pattern in positives):
                    return True
            except Exhausted:
                return False  # refused, never granted, undecided
        return None if found is None else True

    def _matches_variants(self, required: str, auth_id, session_uuid,
                          budget: Budget | None) -> bool:
        variants = _with_sentinels(required, auth_id, session_uuid)
        if variants is None:
            return ExactAccessCheck(self.acl, auth_id, session_uuid).matches(required, budget)
        granted = False
        for variant in variants:  # denied if a negative matches any; granted if a positive
            verdict = self._verdict(variant, budget)
            if verdict is False:
                return False
            granted = granted or verdict is True
        return granted


def _with_sentinels(required: str, auth_id, session_uuid) -> list[str] | None:
    """``required`` with every set of disjoint dot-bounded occurrences of ``auth_id`` and
    ``session_uuid`` (each None, or occurring in it) replaced by their sentinels, the empty
    set included; None when there are more than _MAX_OCCURRENCES occurrences."""
    if (auth_id is None) != (session_uuid is None):
        word, sentinel = (session_uuid, _MY_SESSION) if auth_id is None else (auth_id, _ME)
        if required.find(word, required.find(word) + 1) == -1:  # one occurrence, the common
            # case: dot-bounded or not, as a sentinel with no dot or end on both sides is read
            # by nothing and fails its variant, as the exact form fails on the word there
            return [required.replace(word, sentinel, 1), required]
    spans = _occurrences(required, auth_id, _ME) if auth_id else []
    if session_uuid:
        spans += _occurrences(required, session_uuid, _MY_SESSION)
    if len(spans) > _MAX_OCCURRENCES:
        return None
    spans.sort()
    variants = []
    for mask in range(1 << len(spans)):
        chosen = [span for i, span in enumerate(spans) if mask >> i & 1]
        if any(a[1] > b[0] for a, b in zip(chosen, chosen[1:])):
            continue  # overlapping occurrences: one match cannot read both as words
        pieces, done = [], 0
        for start, end, sentinel in chosen:
            pieces += [required[done:start], sentinel]
            done = end
        variants.append(''.join(pieces) + required[done:])
    return variants


def _occurrences(required: str, word: str, sentinel: str) -> list[tuple[int, int, str]]:
    """The (start, end, sentinel) of each dot-bounded occurrence of ``word`` (not empty),
    overlaps kept."""
    found: list[tuple[int, int, str]] = []
    start = required.find(word)
    while start != -1:
        end = start + len(word)
        if (start == 0 or required[start - 1] == '.') \
                and (end == len(required) or required[end] == '.'):
            found.append((start, end, sentinel))
        start = required.find(word, start + 1)
    return found


class ExactAccessCheck:
    """One token's ACL compiled with its auth_id and session uuid in the patterns: the
    reference the shared AccessCheck answers like, and its fallback for rare required strings
    (holding a sentinel, or many occurrences of the token's words). Never cached."""

    __slots__ = ('_allow', '_deny', '_slow_allow', '_slow_deny')

    def __init__(self, acl: Sequence[str], auth_id: str | None = None,
                 session_uuid: str | None = None):
        auth_id, session_uuid = one_segment(auth_id), one_segment(session_uuid)

        def one(pattern: str) -> str:
            return _exact_pattern(pattern, auth_id, session_uuid)
        allow = [p for p in acl if not p.startswith('!')]
        deny = [p[1:] for p in acl if p.startswith('!')]
        self._allow = _alternation([p for p in allow if not risky(p)], one)
        self._deny = _alternation([p for p in deny if not risky(p)], one)
        # Risky patterns (linear.py) matched linearly.
        self._slow_allow = [_exact_linear(p, auth_id, session_uuid) for p in allow if risky(p)]
        self._slow_deny = [_exact_linear(p, auth_id, session_uuid) for p in deny if risky(p)]

    def matches(self, required: str | None, budget: Budget | None = None) -> bool:
        """As AccessCheck.matches, for this token."""
        if required is None:
            return True
        budget = budget or Budget()
        try:
            if (self._deny is not None and self._deny.fullmatch(required)) \
                    or any(pattern.matches(required, budget) for pattern in self._slow_deny):
                return False
            return (self._allow is not None and self._allow.fullmatch(required) is not None) \
                or any(pattern.matches(required, budget) for pattern in self._slow_allow)
        except Exhausted:
            return False  # refused, never granted, undecided


class AccessCheckCache:
    """A bounded LRU of compiled ACLs, one per distinct ACL, shared by the requests of one
    process: every token of one policy holds the same AccessCheck and ACL tuple."""

    def __init__(self, max_size: int = 4096):
        self._max_size = max_size
        self._items: OrderedDict[tuple, AccessCheck] = OrderedDict()
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, acl: Sequence[str]) -> AccessCheck:
        key = tuple(acl)
        with self._lock:
            check = self._items.get(key)
            if check is not None:
                self._items.move_to_end(key)
                return check
        check = AccessCheck(key)
        with self._lock:
            check = self._items.setdefault(key, check)  # a racing thread's stays the shared one
            self._items.move_to_end(key)
            if len(self._items) > self._max_size:
                self._items.popitem(last=False)
        return check
