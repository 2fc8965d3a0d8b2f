"""One compiled form per ACL, shared by every token holding it (issue 14): it answers exactly as
the ACL compiled with the token's own auth_id and session would.

Three answers are compared: the shared ``AccessCheck`` given the auth_id and session at match
time, ``ExactAccessCheck`` (the per-token compile the service used before, now its fallback),
and an oracle written here from the rules of the package docstring, with no regex.
"""
from __future__ import annotations

import functools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wazo_like_auth.acl import AccessCheck, ExactAccessCheck

AUTH_ID = '5f2ab0c6-8d3e-4a6b-9c1f-0e2d3c4b5a69'
SESSION = '0c9d8e7f-6a5b-4c3d-2e1f-a0b1c2d3e4f5'
ME, MY_SESSION = '\x00', '\x01'  # the shared form's sentinels, as a client could send them


# --- the oracle: the package docstring, read literally ------------------------------------

def oracle(acl: list[str], required: str | None, auth_id: str | None,
           session: str | None) -> bool:
    if required is None:
        return True
    def any_matches(patterns):
        return any(_matches(_items(p, auth_id, session), required) for p in patterns)
    if any_matches([p[1:] for p in acl if p.startswith('!')]):
        return False
    return any_matches([p for p in acl if not p.startswith('!')])


def _one(word: str | None) -> str | None:
    """A token's word as `me` or `my_session` may read it: one segment, else nothing."""
    return word if word and not any(c in word for c in '.*#') else None


def _items(pattern: str, auth_id, session) -> tuple:
    """A pattern as items: ('char', c), ('star',), ('hash',) or ('words', alternatives)."""
    items = []
    for index, segment in enumerate(pattern.split('.')):
        if index:
            items.append(('char', '.'))
        words = {'me': ('me', _one(auth_id)), 'my_session': ('my_session', _one(session)),
                 'edit': ('edit', 'update')}.get(segment)
        if words:
            items.append(('words', tuple(w for w in words if w)))
        else:
            items += [('star',) if c == '*' else ('hash',) if c == '#' else ('char', c)
                      for c in segment]
    return tuple(items)


def _matches(items: tuple, text: str) -> bool:
    @functools.lru_cache(maxsize=None)
    def at(i: int, j: int) -> bool:  # items[i:] match text[j:]
        if i == len(items):
            return j == len(text)
        kind = items[i][0]
        if kind == 'char':
            return text.startswith(items[i][1], j) and at(i + 1, j + 1)
        if kind == 'words':
            return any(text.startswith(w, j) and at(i + 1, j + len(w)) for w in items[i][1])
        if kind == 'hash':
            return any(at(i + 1, k) for k in range(j, len(text) + 1))
        k = j  # star: a run of characters other than `.` and `#`
        while not at(i + 1, k):
            if k == len(text) or text[k] in '.#':
                return False
            k += 1
        return True
    return at(0, 0)


def answers(acl, required, auth_id=AUTH_ID, session=SESSION) -> tuple[bool, bool, bool]:
    return (AccessCheck(acl).matches(required, auth_id, session),
            ExactAccessCheck(acl, auth_id, session).matches(required),
            oracle(acl, required, auth_id, session))


# --- the known traps, with the expected answer spelled out --------------------------------

TRAPS = [
    # Replacing the auth_id by the word `me` would let `m*` grant it.
    (['x.m*'], f'x.{AUTH_ID}', AUTH_ID, SESSION, False),
    (['x.m*'], 'x.me', AUTH_ID, SESSION, True),
    (['x.me'], f'x.{AUTH_ID}', AUTH_ID, SESSION, True),
    (['x.*'], f'x.{AUTH_ID}', AUTH_ID, SESSION, True),           # `*` reads it as characters
    # An auth_id with dots (a client id) is no `me` at all: a client named '<a user's
    # uuid>.voicemail' would otherwise reach that user's `confd.users.<uuid>.voicemail`.
    (['clients.me.read'], 'clients.app.one.read', 'app.one', SESSION, False),
    (['clients.*.read'], 'clients.app.one.read', 'app.one', SESSION, False),
    (['clients.*.*.read'], 'clients.app.one.read', 'app.one', SESSION, True),
    (['clients.me'], 'clients.app.one.two', 'app.one', SESSION, False),
    (['clients.me.*'], 'clients.app.one.two', 'app.one', SESSION, False),
    (['u.me.#'], f'u.{AUTH_ID}.voicemail.update', f'{AUTH_ID}.voicemail', SESSION, False),
    (['clients.me.read'], 'clients.me.read', 'app.one', SESSION, True),  # the word itself
    (['x.me.b'], 'x.a.b', 'a.b', SESSION, False),
    (['me.a'], 'a.a.a', 'a.a', SESSION, False),
    (['a.me'], 'a.a.a', 'a.a', SESSION, False),
    (['me.me'], 'a.a.a', 'a.a', SESSION, False),
    # An auth_id that is a reserved word itself.
    (['users.me.read'], 'users.me.read', 'me', SESSION, True),
    (['users.*.read'], 'users.me.read', 'me', SESSION, True),
    (['s.my_session'], 's.me', 'me', SESSION, False),
    (['s.me'], 's.my_session', 'my_session', 'other', True),
    # The auth_id and the session are the same string.
    (['s.my_session.me'], f's.{AUTH_ID}.{AUTH_ID}', AUTH_ID, AUTH_ID, True),
    (['s.me.me'], f's.{AUTH_ID}.{AUTH_ID}', AUTH_ID, AUTH_ID, True),
    # No auth_id: `me` is only the word.
    (['u.me'], 'u.me', None, None, True),
    (['u.me'], 'u.None', None, None, False),
    (['u.me'], 'u.', '', '', False),
    # A required string holding a sentinel: never read as the token's words.
    (['x.me'], f'x.{ME}', AUTH_ID, SESSION, False),
    (['x.my_session'], f'x.{MY_SESSION}', AUTH_ID, SESSION, False),
    (['#'], f'a{ME}b', AUTH_ID, SESSION, True),
    (['x.*'], f'x.{ME}', AUTH_ID, SESSION, True),
    (['x.*', '!x.me'], f'x.{ME}', AUTH_ID, SESSION, True),
    (['x.me'], f'x.{AUTH_ID}.{ME}', AUTH_ID, SESSION, False),
    # A pattern holding a sentinel is literal.
    ([f'a{ME}'], f'a{ME}', AUTH_ID, SESSION, True),
    ([f'x.{ME}'], f'x.{AUTH_ID}', AUTH_ID, SESSION, False),
    # `#` spans an occurrence, in an allow and in a deny.
    (['a.#.z'], f'a.{AUTH_ID}.z', AUTH_ID, SESSION, True),
    (['a#'], f'a.{AUTH_ID}', AUTH_ID, SESSION, True),
    (['#', '!x#'], f'x.{AUTH_ID}', AUTH_ID, SESSION, False),
    (['#', '!#.me'], f'x.{AUTH_ID}', AUTH_ID, SESSION, False),
    (['#', '!#.me'], 'x.someone', AUTH_ID, SESSION, True),
    # A deny found on one reading wins over an allow found on another.
    (['x.*', '!x.me'], f'x.{AUTH_ID}', AUTH_ID, SESSION, False),
    (['x.me', '!x.*'], f'x.{AUTH_ID}', AUTH_ID, SESSION, False),
    (['s.#', '!s.my_session.delete'], f's.{SESSION}.delete', AUTH_ID, SESSION, False),
    (['s.#', '!s.my_session.delete'], f's.{AUTH_ID}.delete', AUTH_ID, SESSION, True),
    # Both words occur, and neither is read as a word.
    (['x.*.*'], f'x.{AUTH_ID}.{SESSION}', AUTH_ID, SESSION, True),
    (['x.me.*'], f'x.{AUTH_ID}.{SESSION}', AUTH_ID, SESSION, True),
    (['x.*.me'], f'x.{AUTH_ID}.{SESSION}', AUTH_ID, SESSION, False),
    # More occurrences than the shared form tries: the exact compile answers.
    (['.'.join(['me'] * 5)], '.'.join([AUTH_ID] * 5), AUTH_ID, SESSION, True),
    (['.'.join(['me'] * 4) + '.x'], '.'.join([AUTH_ID] * 5), AUTH_ID, SESSION, False),
    (['me.#'], '.'.join([AUTH_ID] * 3 + [SESSION] * 3), AUTH_ID, SESSION, True),
    # `edit` stands for `update` on the pattern side only.
    (['x.edit'], 'x.update', AUTH_ID, SESSION, True),
    (['x.update'], 'x.edit', AUTH_ID, SESSION, False),
]


@pytest.mark.parametrize('acl, required, auth_id, session, expected', TRAPS)
def test_known_traps(acl, required, auth_id, session, expected):
    assert answers(acl, required, auth_id, session) == (expected,) * 3


# --- random ACLs and required strings -----------------------------------------------------

AUTH_IDS = [AUTH_ID, 'me', 'my_session', 'update', 'app.one', 'a.a', 'm', 'a*', 'x#', '', None]
SESSIONS = [SESSION, AUTH_ID, 'a.a', 'm', None]
PATTERN_WORDS = ['users', 'me', 'my_session', 'edit', 'update', '*', 'a*', 'm*', '#', 'a#', '#a',
                 'x', 'a', 'm', '', f'a{ME}', MY_SESSION]
REQUIRED_WORDS = ['users', 'me', 'my_session', 'edit', 'update', 'x', 'a', 'm', 'm1', '', '#',
                  '*', 'a.a', 'one', ME, MY_SESSION, f'a{ME}']


@st.composite
def cases(draw):
    auth_id = draw(st.sampled_from(AUTH_IDS))
    session = draw(st.sampled_from(SESSIONS))
    own = [w for w in (auth_id, session) if w]
    # The token's own values, literally in patterns too (`users.<auth_id>.read`), and often.
    pattern_word = st.sampled_from(PATTERN_WORDS + ['me', 'my_session', '*', '#'] * 2 + own)
    pattern = st.builds(lambda bang, words: bang + '.'.join(words), st.sampled_from(['', '!']),
                        st.lists(pattern_word, min_size=1, max_size=3))
    acl = draw(st.lists(pattern, min_size=1, max_size=4))
    if draw(st.booleans()):  # an access one of the patterns grants, or nearly
        required = draw(_instances(draw(st.sampled_from(acl)).lstrip('!'), own))
    else:
        required_word = st.sampled_from(REQUIRED_WORDS + own * 8)
        required = '.'.join(draw(st.lists(required_word, min_size=1, max_size=5)))
    return acl, required, auth_id, session


def _instances(pattern: str, own: list[str]):
    """Strings the pattern grants when its words stand for ``own`` values, often one
    character off (a ``*`` reading a dot, a word not the token's)."""
    filler = st.sampled_from(['', 'a', 'm', 'me', '.', 'a.a', '#', ME] + own * 3)
    def segment(word):
        if word in ('me', 'my_session', 'edit'):
            return st.sampled_from([word, 'update', 'other'] + own * 2)
        parts = [filler if c in '*#' else st.just(c) for c in word]
        return st.tuples(*parts).map(''.join)
    return st.tuples(*[segment(w) for w in pattern.split('.')]).map('.'.join)


@settings(max_examples=1000, deadline=None, database=None)
@given(cases())
@example((['x.m*'], f'x.{AUTH_ID}', AUTH_ID, SESSION))
@example((['me.me'], 'a.a.a', 'a.a', SESSION))
def test_shared_form_answers_as_the_per_token_compile(case):
    acl, required, auth_id, session = case
    shared, exact, expected = answers(acl, required, auth_id, session)
    assert shared == exact == expected, case


def test_the_shared_form_is_the_same_object_for_every_holder():
    """What issue 14 is about: one compiled form per ACL, whatever the holder."""
    check = AccessCheck(['users.me.read', 'sessions.my_session.delete'])
    for i in range(50):
        user, session = f'user-{i}', f'session-{i}'
        assert check.matches(f'users.{user}.read', user, session)
        assert not check.matches(f'users.user-{i + 1}.read', user, session)
        assert check.matches(f'sessions.{session}.delete', user, session)
        assert not check.matches('sessions.session-x.delete', user, session)
