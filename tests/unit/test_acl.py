"""ACL matching (wazo-token-api §2.4): what a token's ACL grants."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from wazo_like_auth.acl import (AccessCheck, AccessCheckCache, Budget, ExactAccessCheck,
                                 refused_grant)

AUTH_ID = '5f2ab0c6-8d3e-4a6b-9c1f-0e2d3c4b5a69'
OTHER_ID = 'a1b2c3d4-e5f6-4711-8899-aabbccddeeff'
SESSION = '0c9d8e7f-6a5b-4c3d-2e1f-a0b1c2d3e4f5'
OTHER_SESSION = 'ffffffff-6a5b-4c3d-2e1f-a0b1c2d3e4f5'


def grants(acl, required, auth_id=AUTH_ID, session=SESSION) -> bool:
    return AccessCheck(acl).matches(required, auth_id, session)


# --- plain patterns: anchoring, case, literal characters ----------------------------------


@pytest.mark.parametrize('required', ['confd.users.read'])
def test_exact_pattern_grants_the_same_access(required):
    assert grants(['confd.users.read'], required)


@pytest.mark.parametrize('required', [
    'confd.users.read.more',   # no implicit suffix
    'x.confd.users.read',      # no implicit prefix
    'confd.users',             # no implicit truncation
    'confd.users.rea',
    'confd.users.read\n',      # a trailing newline is not the end of the access
    'confd.users.read ',
])
def test_patterns_are_anchored_at_both_ends(required):
    assert not grants(['confd.users.read'], required)


@pytest.mark.parametrize('acl, required', [
    (['confd.users.read'], 'Confd.users.read'),
    (['Confd.users.read'], 'confd.users.read'),
    (['confd.USERS.read'], 'confd.users.read'),
])
def test_matching_is_case_sensitive(acl, required):
    assert not grants(acl, required)


def test_dot_in_a_pattern_is_a_literal_dot():
    assert not grants(['confd.users.read'], 'confdXusersXread')


@pytest.mark.parametrize('pattern, literal, not_granted', [
    ('a+b', 'a+b', ['ab', 'aab', 'aaab']),
    ('a(b)', 'a(b)', ['ab', 'a']),
    ('a?', 'a?', ['a', '']),
    ('[x]', '[x]', ['x']),
    ('a$', 'a$', ['a']),
    ('^a', '^a', ['a']),
    ('a|b', 'a|b', ['a', 'b']),
    ('a{2}', 'a{2}', ['aa']),
    ('a\\d', 'a\\d', ['a1']),
    ('(?i)abc', '(?i)abc', ['ABC', 'abc']),
])
def test_regex_metacharacters_in_patterns_are_literal(pattern, literal, not_granted):
    assert grants([pattern], literal)
    for required in not_granted:
        assert not grants([pattern], required), required


def test_regex_metacharacters_in_the_required_access_are_literal():
    assert not grants(['confd.users.read'], 'confd.users.re.*')
    assert not grants(['confd.users.read'], '.*')


# --- the * wildcard ---------------------------------------------------------------------


@pytest.mark.parametrize('pattern, required', [
    ('confd.*.read', 'confd.users.read'),
    ('confd.user*', 'confd.users'),
    ('confd.*s.read', 'confd.users.read'),
    ('confd.*', 'confd.anything_without_dots'),
    ('confd.users*', 'confd.users'),            # zero characters
    ('*', 'word'),
])
def test_star_matches_one_word_or_part_of_one(pattern, required):
    assert grants([pattern], required)


@pytest.mark.parametrize('pattern, required', [
    ('confd.*.read', 'confd.users.42.read'),    # does not cross a dot
    ('confd.*', 'confd.users.read'),
    ('*', 'a.b'),
    ('confd.*', 'confd.a#b'),                   # does not cross a hash
    ('confd.user*', 'confd.user.s'),
    ('confd.*.read', 'confd.users.write'),
])
def test_star_does_not_cross_dots_or_hashes(pattern, required):
    assert not grants([pattern], required)


# --- the # wildcard ---------------------------------------------------------------------


@pytest.mark.parametrize('required', ['confd', 'confd.users.read', 'a.b.c.d.e', '', '#', '.'])
def test_hash_alone_grants_everything(required):
    assert grants(['#'], required)


@pytest.mark.parametrize('required', ['confd.x', 'confd.x.y', 'confd.users.42.read', 'confd.'])
def test_hash_matches_anything_including_dots(required):
    assert grants(['confd.#'], required)


def test_trailing_hash_requires_its_dot():
    assert not grants(['confd.#'], 'confd')
    assert not grants(['confd.#'], 'confdx.users')


def test_hash_in_the_middle_of_a_pattern():
    assert grants(['confd.#.read'], 'confd.users.42.read')
    assert not grants(['confd.#.read'], 'confd.users.42.write')


# --- negative patterns ------------------------------------------------------------------


def test_negative_pattern_wins_over_every_positive():
    acl = ['#', 'confd.users.read', '!confd.users.read']
    assert not grants(acl, 'confd.users.read')
    assert grants(acl, 'confd.users.write')


def test_negative_pattern_order_does_not_matter():
    assert not grants(['!confd.#', 'confd.users.read'], 'confd.users.read')
    assert not grants(['confd.users.read', '!confd.#'], 'confd.users.read')


def test_negative_wildcards_deny_what_they_match():
    acl = ['confd.#', '!confd.*.delete']
    assert not grants(acl, 'confd.users.delete')
    assert grants(acl, 'confd.users.42.delete')
    assert grants(acl, 'confd.users.read')


def test_negative_patterns_alone_grant_nothing():
    assert not grants(['!confd.users.read'], 'confd.users.write')


def test_negative_patterns_use_the_reserved_words():
    acl = ['auth.users.#', '!auth.users.me.delete']
    assert not grants(acl, f'auth.users.{AUTH_ID}.delete')
    assert grants(acl, f'auth.users.{OTHER_ID}.delete')


# --- reserved words: me, my_session, edit -------------------------------------------------


def test_me_matches_the_literal_word_me():
    assert grants(['users.me.#'], 'users.me.123')


def test_me_matches_the_tokens_auth_id():
    assert grants(['users.me.#'], f'users.{AUTH_ID}.x')
    assert grants(['auth.users.me.tokens.read'], f'auth.users.{AUTH_ID}.tokens.read')


def test_me_does_not_match_another_users_id():
    assert not grants(['users.me.#'], f'users.{OTHER_ID}.x')


def test_me_without_an_auth_id_matches_only_the_word():
    assert grants(['users.me.read'], 'users.me.read', auth_id=None)
    assert not grants(['users.me.read'], 'users..read', auth_id=None)
    assert not grants(['users.me.read'], f'users.{AUTH_ID}.read', auth_id=None)


def test_my_session_matches_the_tokens_session_uuid():
    acl = ['auth.sessions.my_session.delete']
    assert grants(acl, f'auth.sessions.{SESSION}.delete')
    assert grants(acl, 'auth.sessions.my_session.delete')
    assert not grants(acl, f'auth.sessions.{OTHER_SESSION}.delete')


def test_edit_pattern_also_matches_update():
    assert grants(['confd.users.edit'], 'confd.users.update')
    assert grants(['confd.users.edit'], 'confd.users.edit')


def test_update_pattern_does_not_match_edit():
    assert not grants(['x.update'], 'x.edit')


def test_substitution_is_on_the_pattern_side_only():
    assert not grants([f'users.{AUTH_ID}.read'], 'users.me.read')
    assert not grants([f'auth.sessions.{SESSION}.delete'], 'auth.sessions.my_session.delete')


@pytest.mark.parametrize('pattern, required', [
    ('users.meta.read', f'users.{AUTH_ID}ta.read'),
    ('users.mine.read', f'users.{AUTH_ID}.read'),
    ('users.xme.read', f'users.x{AUTH_ID}.read'),
    ('x.editor', 'x.updateor'),
    ('x.credit', 'x.crupdate'),
    ('x.my_sessions', f'x.{SESSION}s'),
    ('users.me*.read', f'users.{AUTH_ID}.read'),
])
def test_reserved_words_are_substituted_only_as_whole_segments(pattern, required):
    assert not grants([pattern], required)


def test_reserved_word_as_first_and_last_segment():
    assert grants(['me.x'], f'{AUTH_ID}.x')
    assert grants(['x.me'], f'x.{AUTH_ID}')
    assert grants(['me'], AUTH_ID)
    assert grants(['edit'], 'update')


def test_auth_id_with_regex_characters_is_literal():
    assert grants(['users.me.read'], 'users.a+b.read', auth_id='a+b')
    assert not grants(['users.me.read'], 'users.aab.read', auth_id='a+b')


def test_reserved_words_are_case_sensitive():
    assert not grants(['users.ME.read'], f'users.{AUTH_ID}.read')
    assert not grants(['users.Edit'], 'users.update')


# --- empty ACL, no scope, empty scope -----------------------------------------------------


def test_empty_acl_grants_nothing():
    assert not grants([], 'confd.users.read')
    assert not grants([], '')


@pytest.mark.parametrize('acl', [[], ['!#'], ['confd.users.read']])
def test_no_scope_asked_is_always_granted(acl):
    assert grants(acl, None)


@pytest.mark.parametrize('acl', [['#'], ['*'], ['confd.users.read', '#'], ['*', 'x']])
def test_empty_scope_is_granted_by_wildcard_only_patterns(acl):
    assert grants(acl, '')


@pytest.mark.parametrize('acl', [['confd.users.read'], ['me'], ['edit'], ['confd.#'],
                                 ['.'], ['#', '!#'], ['*', '!*']])
def test_empty_scope_is_refused_by_other_patterns(acl):
    assert not grants(acl, '')


def test_empty_pattern_grants_only_the_empty_scope():
    assert grants([''], '')
    assert not grants([''], 'confd')


def test_many_patterns_any_one_grants():
    acl = [f'service{i}.#' for i in range(500)]
    assert grants(acl, 'service499.users.read')
    assert not grants(acl, 'service500.users.read')


# --- the cache of compiled ACLs -----------------------------------------------------------


def test_cache_returns_a_checker_equivalent_to_a_fresh_one():
    cache = AccessCheckCache()
    acl = ['confd.#', '!confd.users.delete', 'auth.users.me.read', 'auth.sessions.my_session.*']
    cached = cache.get(acl)
    fresh = AccessCheck(acl)
    for required in ['confd.users.read', 'confd.users.delete', f'auth.users.{AUTH_ID}.read',
                     f'auth.users.{OTHER_ID}.read', f'auth.sessions.{SESSION}.delete',
                     f'auth.sessions.{OTHER_SESSION}.delete', '', None]:
        assert cached.matches(required, AUTH_ID, SESSION) == \
            fresh.matches(required, AUTH_ID, SESSION), required


def test_cache_reuses_the_compiled_acl_and_its_tuple_for_the_same_acl():
    cache = AccessCheckCache()
    check = cache.get(['a.#', 'b.me'])
    assert cache.get(('a.#', 'b.me')) is check
    assert check.acl == ('a.#', 'b.me')
    assert cache.get(['a.#', 'b.me']).acl is check.acl


def test_one_compiled_acl_serves_every_auth_id_and_session():
    cache = AccessCheckCache()
    check = cache.get(['users.me.read', 's.my_session'])
    assert len(cache) == 1
    assert check.matches(f'users.{AUTH_ID}.read', AUTH_ID, SESSION)
    assert not check.matches(f'users.{AUTH_ID}.read', OTHER_ID, SESSION)
    assert check.matches(f'users.{OTHER_ID}.read', OTHER_ID, SESSION)
    assert check.matches(f's.{SESSION}', AUTH_ID, SESSION)
    assert not check.matches(f's.{SESSION}', AUTH_ID, OTHER_SESSION)
    assert not check.matches(f'users.{AUTH_ID}.read')  # no auth_id: `me` is only the word
    assert check.matches('users.me.read')


def test_cache_stays_bounded_evicting_the_least_recently_used():
    cache = AccessCheckCache(max_size=3)
    first = cache.get(['first'])
    kept = cache.get(['kept'])
    for i in range(2):
        cache.get([f'filler{i}'])
        assert cache.get(['kept']) is kept  # recently used: kept
    for i in range(100):
        cache.get([f'more{i}'])
    assert len(cache) == 3
    assert cache.get(['first']) is not first
    assert cache.get(['kept']) is not kept


# --- what a holder may hand out (acl.refused_grant; issue 12) ----------------------------

FENCED = ['confd.#', '!confd.users.#']


def refused(holder, granted, carried=(), auth_id=AUTH_ID, session=SESSION):
    return refused_grant(holder, granted, carried=carried, auth_id=auth_id,
                         session_uuid=session)


@pytest.mark.parametrize('granted, expected', [
    (['confd.#'], 'confd.#'),                          # would allow confd.users.1.delete
    (['confd.#', '!confd.users.#'], None),             # carries the same negation
    (['confd.#', '!confd.#'], None),                   # a wider negation covers it too
    (['confd.#', '!confd.users.*'], 'confd.#'),        # narrower: confd.users.1.x still open
    (['confd.#', '!confd.x'], 'confd.#'),
    (['confd.lines.#'], None),                         # does not meet the negation
    (['confd.*.read'], 'confd.*.read'),                # confd.users.read
    (['confd.users*.read'], 'confd.users*.read'),      # `*` may be empty: confd.users.read
    (['confd.user.#', 'confd.users'], None),           # near misses meet nothing
    (['confd.users.1.read'], 'confd.users.1.read'),    # denied outright
    (['#'], '#'),                                      # not held
    (['!confd.lines.#', '!x'], None),                  # negatives only take away
])
def test_a_grant_must_stay_inside_the_holders_negations(granted, expected):
    assert refused(FENCED, granted) == expected


def test_a_holder_compiled_beforehand_gives_the_same_answers():
    holder = ['confd.#', '!confd.users.#', 'auth.users.me.#', '!auth.users.me.password.#']
    compiled = AccessCheckCache().get(holder)
    for granted in (['confd.#'], ['confd.lines.#'], ['confd.#', '!confd.users.#'],
                    [f'auth.users.{AUTH_ID}.emails.read'], [f'auth.users.{OTHER_ID}.read'],
                    [f'auth.users.{AUTH_ID}.password.update']):
        assert refused_grant(holder, granted, auth_id=AUTH_ID, session_uuid=SESSION,
                             compiled=compiled) == refused(holder, granted), granted


def test_negations_elsewhere_in_the_grant_bound_it():
    assert refused(FENCED, ['confd.#'], carried=['!confd.users.#']) is None
    assert refused(FENCED, ['confd.#'], carried=['!confd.users.1']) == 'confd.#'


@pytest.mark.parametrize('granted, expected', [
    (['*.lines.#'], None),
    (['confd.#'], 'confd.#'),
    (['#.read'], '#.read'),                            # `#` crosses dots: x.users.y.read
    (['confd.users'], None),                           # .users. needs a dot after it
])
def test_wildcard_negations_are_compared_by_language(granted, expected):
    assert refused(['#', '!*.users.#'], granted) == expected


ME_FENCE = ['auth.users.#', '!auth.users.me.password.#']


@pytest.mark.parametrize('granted, expected', [
    ([f'auth.users.{OTHER_ID}.password.update'], None),
    ([f'auth.users.{AUTH_ID}.password.update'], f'auth.users.{AUTH_ID}.password.update'),
    (['auth.users.*.password.update'], 'auth.users.*.password.update'),
    # The grantee's `me` is whoever gets it: it may be the holder, or anyone.
    (['auth.users.me.password.update'], 'auth.users.me.password.update'),
    (['auth.users.me.emails.read'], None),
    # A carried `me` bounds the grantee's own resources, not the holder's.
    (['auth.users.*.password.update', '!auth.users.me.password.#'],
     'auth.users.*.password.update'),
    (['auth.users.*.password.update', f'!auth.users.{AUTH_ID}.password.#',
      '!auth.users.me.password.#'], None),
    (['auth.users.*.password.update', '!auth.users.*.password.#'], None),
])
def test_me_in_a_negation_stands_for_the_holder(granted, expected):
    assert refused(ME_FENCE, granted) == expected


@pytest.mark.parametrize('holder, grantee, expected', [
    (['confd.users.me.#'], None, None),                 # a user's `me`: its own uuid
    (['confd.users.me.#'], '42', 'confd.users.me.#'),   # a client's: the name it was given
    (['confd.users.*.#'], '42', None),
    (['confd.users.4*.#'], '42', None),
    (['confd.users.me.#'], 'me', None),                 # a dotted client_id: the word `me`
])
def test_a_known_grantee_reads_the_granted_me_as_its_own_name(holder, grantee, expected):
    assert refused_grant(holder, ['confd.users.me.#'], auth_id=AUTH_ID, session_uuid=SESSION,
                         grantee=grantee) == expected


def test_edit_stands_for_update_on_both_sides():
    assert refused(['#', '!confd.*.update'], ['confd.x.edit']) == 'confd.x.edit'
    assert refused(['#', '!confd.x.edit'], ['confd.x.update']) == 'confd.x.update'
    assert refused(['#', '!confd.x.edit'], ['confd.x.read']) is None


@pytest.mark.parametrize('holder, granted, expected', [
    # A granted `edit` gives `update` too: the holder must hold both, not the word `edit`.
    (['confd.x.e*'], ['confd.x.edit'], 'confd.x.edit'),
    (['confd.x.ed#'], ['confd.x.edit.#'], 'confd.x.edit.#'),
    (['confd.x.e*', 'confd.x.update'], ['confd.x.edit'], None),
    (['confd.x.edit'], ['confd.x.edit'], None),
    (['confd.x.*'], ['confd.x.edit', 'confd.*.edit.edit'], 'confd.*.edit.edit'),
    (['confd.#'], ['confd.*.edit.edit'], None),
])
def test_a_granted_edit_needs_the_holder_to_grant_update_too(holder, granted, expected):
    assert refused(holder, granted) == expected


def test_my_session_in_a_negation_stands_for_the_holders_session():
    holder = ['auth.sessions.#', '!auth.sessions.my_session.delete']
    assert refused(holder, [f'auth.sessions.{OTHER_SESSION}.delete']) is None
    assert refused(holder, ['auth.sessions.*.delete']) == 'auth.sessions.*.delete'


def test_too_many_reserved_words_are_refused_not_expanded():
    holder = ['#', '!' + '.'.join(['me'] * 40)]
    assert refused(holder, ['x']) == 'x'


def _brute_force_meet(a: str, b: str) -> bool:
    """Some string over {a, b, .} of at most len(a) + len(b) characters matches both; the
    shortest common string is never longer (each character advances one of the patterns)."""
    import itertools
    check_a, check_b = AccessCheck([a]), AccessCheck([b])
    for size in range(len(a) + len(b) + 1):
        for chars in itertools.product('ab.', repeat=size):
            text = ''.join(chars)
            if check_a.matches(text) and check_b.matches(text):
                return True
    return False


def test_negation_meets_agree_with_brute_force():
    import itertools
    shapes = [''.join(p) for n in (1, 2, 3) for p in itertools.product('ab.*#', repeat=n)]
    for grant, negation in itertools.product(shapes, shapes[:40]):
        expected = grant if _brute_force_meet(grant, negation) else None
        assert refused(['#', '!' + negation], [grant], auth_id=None) == expected, \
            (grant, negation)


# A backtracking match of a pattern whose wildcards compete for the same characters takes
# len(required) ** wildcards steps: one check of a few hundred dots froze a worker for hours.
# Each case runs in a child process, so a match that never ends fails the test (at 60 s)
# instead of hanging the suite.
@pytest.mark.parametrize('acl, required, expected', [
    (['confd.#.#.#.#.#.#.z'], 'confd.' + '.' * 400, False),
    (['confd.#.#.#.#.#.#.z'], 'confd.' + '.' * 400 + 'z', True),
    (['x.a*a*a*a*a*a*z'], 'x.' + 'a' * 400, False),
    (['#a*a*a*a*z'], 'a' * 400, False),
    (['confd.#', '!confd.#.#.#.#.#.#.z'], 'confd.' + '.' * 400 + 'y', True),
    (['confd.#', '!confd.#.#.#.#.#.#.z'], 'confd.' + '.' * 400 + 'z', False),
    (['users.me.#.#.#.#.#.z'], 'users.u-1.' + '.' * 400, False),  # the per-token form
    (['users.me.#.#.#.#.#.z'], 'users.\x00.' + '.' * 400, False),  # its fallback form
])
def test_patterns_with_competing_wildcards_answer_long_required_strings(acl, required,
                                                                      expected):
    code = ('import sys; from wazo_like_auth.acl import AccessCheck\n'
            f'sys.exit(0 if AccessCheck({acl!r}).matches({required!r}, "u-1", "s-1") '
            f'is {expected!r} else 1)')
    assert subprocess.run([sys.executable, '-c', code], timeout=60).returncode == 0


# Thousands of risky patterns in one ACL (a tenant administrator may write 4096 into a policy)
# would make each check seconds of CPU: a check, or a request of many scopes, has a budget of
# automaton steps (acl/linear.py), past which the access is refused, never granted.
COMPETING = [f'confd.#.#.e{i}' for i in range(4096)]
LONG_SCOPE = 'confd.' + 'x.' * 509  # matched by none of them


def test_a_check_past_its_budget_is_refused_quickly():
    check = AccessCheck(COMPETING)
    started = time.process_time()
    assert not check.matches(LONG_SCOPE)
    assert not ExactAccessCheck(COMPETING, 'u-1').matches(LONG_SCOPE)
    assert time.process_time() - started < 2.0  # 7 s each without the budget


def test_a_budget_is_shared_by_the_checks_given_it():
    check = AccessCheck(COMPETING)
    budget = Budget()
    started = time.process_time()
    answers = [check.matches(LONG_SCOPE, budget=budget) for _ in range(50)]
    assert answers == [False] * 50
    assert time.process_time() - started < 2.0


def test_negatives_past_the_budget_refuse_what_a_positive_grants():
    check = AccessCheck(['confd.#', *('!' + p for p in COMPETING[:500])])
    assert not check.matches(LONG_SCOPE)  # undecided: refused
    assert check.matches('confd.users.read')  # decided within the budget: granted
    assert not check.matches('confd.a.b.e7')


def test_a_few_risky_patterns_answer_long_scopes_within_the_budget():
    check = AccessCheck(['confd.#.#.#.#.#.#.z', '!confd.#.#.#.#.#.#.y'])
    assert check.matches('confd.' + '.' * 1000 + 'z', budget=Budget())
    assert not check.matches('confd.' + '.' * 1000 + 'y')


def test_a_holders_me_does_not_stand_for_the_grantees_my_session():
    # `auth.users.me.#` holds the holder's own user and the literal word `me`, never a
    # session's uuid: a grant naming both words (`my_session` where the holder has `me`)
    # gives its grantee auth.users.<its session>.<its uuid>, which the holder never held.
    assert refused(['auth.users.me.#'], ['auth.users.my_session.me']) \
        == 'auth.users.my_session.me'
    assert refused(['auth.sessions.my_session.#'], ['auth.sessions.me.my_session']) \
        == 'auth.sessions.me.my_session'
