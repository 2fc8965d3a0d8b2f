"""``refused_grant``: what the holder of an ACL may hand out (admin spec §0.6; issue 12)."""
from __future__ import annotations

from collections.abc import Sequence

from .linear import Budget
from .matching import RESERVED, AccessCheck

# An access pattern denotes a set of access strings (its language). Granting a positive entry `e`
# (in a policy, a client, or through a link) gives its holders every string of `e`; the giver
# must hold them all. Negatives are compared by language, not by text: `!confd.users.#` meets
# `confd.#`, since `confd.users.1.delete` matches both.

_LIT, _STAR, _HASH, _WORD = 'lit', 'star', 'hash', 'word'
_MAX_VARIANTS = 64  # reserved words expand a pattern into variants; beyond this, refuse
# Comparing two patterns visits at most len(a) * len(b) states; a grant whose comparisons need
# more than this many in all (thousands of long, wildcard-laden entries) is refused, not timed.
_MAX_STEPS = 1_000_000


def refused_grant(holder: Sequence[str], granted: Sequence[str], *,
                  carried: Sequence[str] = (), auth_id: str | None = None,
                  session_uuid: str | None = None,
                  compiled: AccessCheck | None = None,
                  budget: Budget | None = None, grantee: str | None = None) -> str | None:
    """The first positive entry of ``granted`` that a token with ACL ``holder`` may not hand
    out, or None when it may hand out all of them.

    A positive entry ``e`` may be handed out iff both hold:

    1. ``e`` read as a literal string is granted by ``holder`` (a positive pattern matches it,
       no negative one does): giving ``confd.#`` needs ``confd.#`` or ``#``, giving
       ``confd.*.read`` needs a pattern such as ``confd.*.read``, ``confd.*.*`` or ``confd.#``;
       so is ``e`` with its ``edit`` words read as ``update`` (``edit`` grants both);
    2. for every negative pattern ``!n`` of ``holder`` whose language meets the language of
       ``e`` (some access string matches both), the grant carries the same restriction: a
       negative entry ``!m`` of ``granted`` or ``carried`` whose pattern, read as a literal
       string, matches ``n``.

    In (2), the holder's ``me``/``my_session`` stand for ``me`` and its own auth_id/session and
    ``edit`` for ``edit`` and ``update``; the grant's ``me``/``my_session`` stand for any one
    word (whoever gets it), and a carried ``!m`` covers them only literally. Negative entries
    are never refused: they only take access away. ``compiled``: ``holder`` compiled, when
    the caller has it; ``budget``: the matching steps of risky patterns (linear.py) the
    request may still spend, past which entries are refused. ``grantee``: what the grant's
    ``me`` stands for when it is known and not a user's uuid (a client's client_id, a name
    its creator chose: ``me`` there is that word, held as such, not the holder's own ``me``).
    """
    matching = budget or Budget()
    holder_check = compiled or AccessCheck(holder)
    bounds = AccessCheck([a[1:] for a in [*granted, *carried] if a.startswith('!')])
    denied = [_variants(a[1:], auth_id, session_uuid) for a in holder if a.startswith('!')]
    budget = [_MAX_STEPS]
    for entry in granted:
        if entry.startswith('!'):
            continue
        if not _held(holder_check, entry, auth_id, session_uuid, matching, grantee) \
                or not _bounded(entry, denied, bounds, budget, matching):
            return entry
    return None


def _held(holder_check: AccessCheck, entry: str, auth_id: str | None,
          session_uuid: str | None, matching: Budget, grantee: str | None = None) -> bool:
    """Rule (1) of ``refused_grant``: ``entry`` read literally is granted, and so is each of
    its ``edit`` words read as ``update`` (what the grantee's `edit` also matches; a holder
    with ``x.e*`` holds ``x.edit``, not ``x.update``)."""
    variants = _variants(entry, None, None, granted_side=True)
    if variants is None:
        return False  # too many reserved words to reason about
    return all(holder_check.matches(*_as_anyone(entry, text, auth_id, session_uuid, grantee),
                                    matching)
               for text, _ in variants)


# For a granted `me` and `my_session`, words no ACL entry holds (entries never contain NUL):
# only a holder pattern matching any word (`*`, `#`) at its place, or the holder's own `me`
# (`my_session`), matches one. Two distinct words: a holder's `me` stands for a grantee's
# `me` only, never for its `my_session` (a session uuid), nor the reverse. Only NULs, so no
# pattern with a literal character (`m*`, `*e`) reads either.
_ANYONE = {'me': '\x00', 'my_session': '\x00\x00'}


def _as_anyone(entry: str, text: str, auth_id: str | None, session_uuid: str | None,
               grantee: str | None = None) -> tuple[str, str | None, str | None]:
    """The arguments of the holder's ``matches`` for ``text`` (a variant of ``entry``): a
    granted ``me``/``my_session`` stands for whoever gets it, so the holder must hold that
    segment for any word, as its own ``me`` (resp. ``my_session``), ``*`` or ``#`` do. Read
    as the literal word ``me``, a holder pattern matching only that word (``x.m*``) handed
    out its holder's own id. A known ``grantee`` (a client's client_id) is its ``me``: the
    holder must hold that word there (a client named ``42`` given ``confd.users.me.#`` gets
    ``confd.users.42.#``, which the holder's own ``me`` is not)."""
    granted = entry.split('.')
    if 'me' not in granted and 'my_session' not in granted:
        return text, auth_id, session_uuid
    anyone = {**_ANYONE, 'me': grantee} if grantee else _ANYONE
    words = [anyone.get(word, shown) for word, shown in zip(granted, text.split('.'))]
    mine = 'me' in granted and not grantee
    return ('.'.join(words), _ANYONE['me'] if mine else auth_id,
            _ANYONE['my_session'] if 'my_session' in granted else session_uuid)


def _bounded(entry: str, denied: list, bounds: AccessCheck, budget: list[int],
             matching: Budget) -> bool:
    """Rule (2) of ``refused_grant`` for one entry; False when undecidable within limits."""
    shapes = _variants(entry, None, None, granted_side=True)
    try:
        for variants in denied:
            if shapes is None or variants is None:
                return False  # too many reserved words to reason about
            meeting = [text for text, n in variants
                       if any(_meet(s, n, budget) for _, s in shapes)]
            if any(not bounds.matches(text, budget=matching) for text in meeting):
                return False
    except _TooComplex:
        return False
    return True


class _TooComplex(Exception):
    pass


def _variants(pattern: str, auth_id: str | None, session_uuid: str | None,
              granted_side: bool = False) -> list[tuple[str, list]] | None:
    """``pattern`` as (text, tokens) alternatives, reserved words expanded; None if too many."""
    variants: list[tuple[str, list]] = [('', [])]
    for index, segment in enumerate(pattern.split('.')):
        choices = _segment_choices(segment, auth_id, session_uuid, granted_side)
        if len(variants) * len(choices) > _MAX_VARIANTS:
            return None
        dot = [(_LIT, '.')] if index else []
        variants = [(text + ('.' if index else '') + word, tokens + dot + more)
                    for text, tokens in variants for word, more in choices]
    return variants


def _segment_choices(segment: str, auth_id, session_uuid, granted_side: bool) -> list:
    if granted_side and segment in ('me', 'my_session'):
        return [(segment, [(_WORD, '')])]  # the grantee's own id: any one word
    substitute = RESERVED.get(segment)
    if substitute:
        words = [w for w in substitute(auth_id, session_uuid) if w]
        return [(w, [(_LIT, c) for c in w]) for w in dict.fromkeys(words)]
    kinds = {'*': (_STAR, ''), '#': (_HASH, '')}
    return [(segment, [kinds.get(c, (_LIT, c)) for c in segment])]


def _meet(a: list, b: list, budget: list[int]) -> bool:
    """True iff some string matches both token sequences (a product-automaton search);
    raises _TooComplex once ``budget[0]`` states have been visited."""
    if not _ends_compatible(a, b):
        return False
    open_a, open_b = _open_tails(a), _open_tails(b)
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooComplex()
        if (i == len(a) and j == len(b)) or open_a[i] or open_b[j]:
            return True  # both done, or one side matches any rest: the other's will do
        if i < len(a) and a[i][0] != _LIT:
            stack.append((i + 1, j))
        if j < len(b) and b[j][0] != _LIT:
            stack.append((i, j + 1))
        if i < len(a) and j < len(b) and _share(a[i], b[j]):
            stack.append((i + (a[i][0] == _LIT), j + (b[j][0] == _LIT)))
    return False


def _open_tails(tokens: list) -> list[bool]:
    """For each position, True iff the rest is only ``#`` wildcards (matches any string),
    or is empty at the end (matches the empty rest only: left to the search)."""
    tails = [False] * (len(tokens) + 1)
    for i in range(len(tokens) - 1, -1, -1):
        tails[i] = tokens[i][0] == _HASH and (tails[i + 1] or i + 1 == len(tokens))
    return tails


def _ends_compatible(a: list, b: list) -> bool:
    """A cheap necessary condition: the literal characters before the first wildcard, and
    after the last one, agree on both sides."""
    for step in (1, -1):
        for x, y in zip(a[::step], b[::step]):
            if x[0] != _LIT or y[0] != _LIT:
                break
            if x[1] != y[1]:
                return False
    return True


def _share(x: tuple, y: tuple) -> bool:
    """True iff one character can be read by both tokens."""
    if x[0] == _LIT:
        return _reads(y, x[1])
    if y[0] == _LIT:
        return _reads(x, y[1])
    return True  # two wildcards both read letters


def _reads(token: tuple, char: str) -> bool:
    kind = token[0]
    if kind == _LIT:
        return token[1] == char
    if kind == _STAR:
        return char not in '.#'
    if kind == _WORD:
        return char != '.'
    return True  # _HASH
