"""Edges of the ACL rules and policies: handing out `me` with a pattern that reads the word
only, a dropped default policy a client holds, the entry limit of a policy grown one by one,
thousands of competing-wildcard entries."""
from __future__ import annotations

import time

from sqlalchemy import select

from tests.support.admin_client import AdminClient, token_of
from wazo_like_auth.composition import build_services
from wazo_like_auth.models import Policy


def prepare(config: dict, engine) -> None:
    """The start-up reconciliation of `serve` and `bootstrap` (as in test_startup)."""
    build_services(config, engine=engine).startup.run()


def managed(sessions) -> set[str]:
    with sessions() as db:
        return set(db.scalars(select(Policy.slug).where(Policy.config_managed)))


# --- Many competing-wildcard entries: one check costs a bounded time ------------------------

def test_a_policy_of_competing_wildcard_entries_does_not_freeze_scope_checks(
        admin, client, make_user, login):
    """A tenant administrator holding `confd.#` may write 4096 entries `confd.#.#.eN` (it
    holds each) into a policy of its own: each scope of 1024 characters took some 7 s of CPU
    (acl/linear.py matches such patterns one after the other), and one scopes/check of 1000
    of them held a worker for hours. A request now spends a bounded budget on them, past
    which the scope is refused."""
    created = admin.ok('POST', '/policies', json={
        'name': 'wildcards', 'acl': [f'confd.#.#.e{i}' for i in range(4096)]})
    bob = make_user('bob')
    admin.ok('PUT', f"/users/{bob}/policies/{created['uuid']}", status=204)
    token = token_of(login, 'bob')
    unmatched = 'confd.' + 'x.' * 508

    started = time.process_time()
    answer = client.post(f'/0.1/token/{token}/scopes/check',
                         json={'scopes': [unmatched + str(i) for i in range(100)]})
    alone = client.head(f'/0.1/token/{token}?scope={unmatched}')
    elapsed = time.process_time() - started

    assert answer.status_code == 200
    assert set(answer.get_json()['scopes'].values()) == {False}
    assert alone.status_code == 403
    assert elapsed < 3.0, f'{elapsed:.1f} s of CPU'
    assert client.head(f'/0.1/token/{token}?scope=confd.a.b.e4095').status_code == 204


def test_a_dropped_default_policy_still_held_by_a_client_is_kept(admin, make_config, db_uri,
                                                                 engine, sessions):
    """§3.9 and services/startup.py: a policy no longer in default_policies is kept while
    something holds it, "so nobody loses access silently"; in_use() looks at users and
    groups only, so the policy of an OAuth client is deleted and its link cascades away."""
    prepare(make_config(db_uri=db_uri, default_policies={'held': {'acl': ['dird.#']}}), engine)
    with sessions() as db:
        held = db.scalars(select(Policy.uuid).where(Policy.slug == 'held')).one()
    created = admin.ok('POST', '/clients', json={'client_id': 'backend',
                                                 'policies': [str(held)]})
    assert [p['slug'] for p in created['policies']] == ['held']

    prepare(make_config(db_uri=db_uri), engine)

    assert managed(sessions) == {'held'}
    listed = admin.ok('GET', f"/clients/{created['uuid']}")
    assert [p['slug'] for p in listed['policies']] == ['held']


# --- Finding: PUT /policies/{p}/acl/{access} grows a policy past the 4096-entry bound -----

def test_adding_entries_one_by_one_cannot_pass_the_acl_entry_limit(admin):
    """acl.MAX_ENTRIES (README "Input limits": more than 4096 ACL entries →
    400) bounds POST and PUT /policies only: PUT /policies/{p}/acl/{access} appends without
    looking at the size, so a policy (and every token of its holders) grows without bound."""
    created = admin.ok('POST', '/policies', json={
        'name': 'full', 'acl': [f'confd.e{i}' for i in range(4096)]})

    response = admin.put(f"/policies/{created['uuid']}/acl/confd.one-more")

    assert response.status_code == 400, response.status_code
    assert len(admin.ok('GET', f"/policies/{created['uuid']}")['acl']) == 4096


# --- Finding: a pattern that reads the word `me` literally may hand out `me` ----------------

def test_a_caller_cannot_grant_me_with_a_pattern_that_only_reads_the_word(
        admin, client, make_user, login):
    """acl/granting.py rule (1) checks a granted `me` segment as the literal word: a holder
    of `confd.users.m*.read` (`confd.users.me.read`, `confd.users.mine.read`..., no uuid)
    may create the policy `confd.users.me.read` and attach it to itself, and its next token
    reads `confd.users.<its uuid>.read`, which it never held. Its grantees' `me` is their own
    uuid: the holder must grant every one-word value there (`*`, `#`), or `me` itself."""
    acl = ['confd.users.m*.read', 'auth.policies.create', 'auth.users.*.policies.*.create']
    bob = make_user('bob', acl=acl)
    bob_admin = AdminClient(client, token_of(login, 'bob'))
    held = f'confd.users.{bob}.read'
    assert client.head(f'/0.1/token/{bob_admin.token}?scope={held}').status_code == 403

    response = bob_admin.post('/policies', json={'name': 'mine',
                                                 'acl': ['confd.users.me.read']})

    assert response.status_code == 401, 'created: attached to bob, it gives him ' + held


# --- Finding: a refused check of a cached token spends two budgets -----------------------

def test_a_refused_check_of_a_cached_token_spends_one_budget_of_steps(
        admin, client, make_user, login, services, monkeypatch):
    """README (ACL patterns): "a check ... has a budget of 200,000 steps (about 0.1 s), past
    which the scope is refused". A cached token's check is first tried by the fast path
    (http/check_fast_path: TokenChecker.peek -> allows, with a fresh Budget); refused there,
    it falls through to the full check (TokenChecker.check -> allows), which starts another
    fresh Budget: the same refused check spends the budget twice (0.2 s of CPU)."""
    from wazo_like_auth.acl import linear

    created = admin.ok('POST', '/policies', json={
        'name': 'wildcards', 'acl': [f'confd.#.#.e{i}' for i in range(4096)]})
    bob = make_user('bob')
    admin.ok('PUT', f"/users/{bob}/policies/{created['uuid']}", status=204)
    token = token_of(login, 'bob')
    assert client.head(f'/0.1/token/{token}').status_code == 204  # cached from here on
    budgets: list = []
    matches = linear.LinearPattern.matches

    def spy(self, required, budget):
        if not any(budget is seen for seen in budgets):
            budgets.append(budget)
        return matches(self, required, budget)
    monkeypatch.setattr(linear.LinearPattern, 'matches', spy)

    scope = f"confd.{'x.' * 250}y"  # 507 characters: the fast path's own scopes
    answer = client.head(f'/0.1/token/{token}?scope={scope}')

    assert answer.status_code == 403
    spent = sum(linear.STEPS - max(budget.left, 0) for budget in budgets)
    assert spent <= linear.STEPS, f'{len(budgets)} budgets, {spent} steps for one check'
