"""Start-up reconciliation (admin spec §3.9, §4.7, §6.1): default policies, all-users groups,
the top tenant; and the configuration that feeds it."""
from __future__ import annotations

import argparse
import threading
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from tests.support.credentials import basic
from tests.support.offline_access import make_tenant
from wazo_like_auth import commands
from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.composition import build_services
from wazo_like_auth.config import ConfigError, load_config
from wazo_like_auth.models import Group, Policy, User, UserGroup, UserPolicy
from wazo_like_auth.services.startup import StartupService

USER_POLICY = {'acl': ['auth.users.me.#', 'default.user'], 'description': None}


def prepare(config: dict, engine) -> None:
    """The start-up reconciliation of `serve` and `bootstrap` (services/startup.py)."""
    build_services(config, engine=engine).startup.run()


def managed(sessions):
    with sessions() as db:
        return {p.slug: p for p in db.scalars(select(Policy).where(Policy.config_managed))}


def test_default_policies_are_created_read_only_in_the_top_tenant(make_config, db_uri, engine,
                                                                  sessions, top_tenant):
    config = make_config(db_uri=db_uri, default_policies={
        'wazo_default_user_policy': USER_POLICY,
        'wazo_default_admin_policy': {'acl': ['#'], 'description': 'Admins'}})

    prepare(config, engine)

    policies = managed(sessions)
    assert set(policies) == {'wazo_default_user_policy', 'wazo_default_admin_policy'}
    user_policy = policies['wazo_default_user_policy']
    assert (user_policy.name, user_policy.tenant_uuid) == ('wazo_default_user_policy',
                                                           top_tenant)
    assert user_policy.description == 'Automatically created'
    assert user_policy.acl == ['auth.users.me.#', 'default.user']
    assert policies['wazo_default_admin_policy'].description == 'Admins'


def test_a_restart_applies_the_new_configuration(make_config, db_uri, engine, sessions):
    prepare(make_config(db_uri=db_uri, default_policies={
        'kept': {'acl': ['a']}, 'dropped': {'acl': ['b']}}), engine)
    uuid_before = managed(sessions)['kept'].uuid

    prepare(make_config(db_uri=db_uri, default_policies={'kept': {'acl': ['c']}}),
                    engine)

    policies = managed(sessions)
    assert set(policies) == {'kept'}
    assert (policies['kept'].uuid, policies['kept'].acl) == (uuid_before, ['c'])


def test_a_dropped_policy_still_held_is_kept(make_config, db_uri, engine, sessions, make_user):
    prepare(make_config(db_uri=db_uri, default_policies={'held': {'acl': ['a']}}),
                    engine)
    user = make_user('bob')
    with sessions.begin() as db:
        db.add(UserPolicy(user_uuid=user, policy_uuid=managed(sessions)['held'].uuid))

    prepare(make_config(db_uri=db_uri), engine)

    assert set(managed(sessions)) == {'held'}


def test_update_policy_on_startup_false_changes_no_policy(make_config, db_uri, engine,
                                                          sessions):
    prepare(make_config(db_uri=db_uri, default_policies={'p': {'acl': ['a']}}), engine)

    prepare(make_config(db_uri=db_uri, update_policy_on_startup=False,
                                default_policies={'p': {'acl': ['changed']}}), engine)

    assert managed(sessions)['p'].acl == ['a']


def test_an_existing_policy_with_the_slug_is_taken_over(admin, make_config, db_uri, engine,
                                                        sessions):
    created = admin.ok('POST', '/policies', json={'name': 'mine', 'slug': 'Taken'})

    prepare(make_config(db_uri=db_uri, default_policies={'taken': {'acl': ['x']}}),
                    engine)

    policy = managed(sessions)['taken']
    assert (str(policy.uuid), policy.name) == (created['uuid'], 'taken')
    assert admin.ok('GET', f"/policies/{created['uuid']}")['read_only'] is True


def test_a_name_held_by_another_policy_skips_the_entry(admin, make_config, db_uri, engine,
                                                       sessions):
    admin.ok('POST', '/policies', json={'name': 'wanted', 'slug': 'other'})

    prepare(make_config(db_uri=db_uri, default_policies={'wanted': {'acl': ['x']},
                                                                 'fine': {'acl': ['y']}}),
                    engine)

    assert set(managed(sessions)) == {'fine'}


def test_config_managed_policies_feed_tokens_and_show_read_only(admin, make_config, db_uri,
                                                                engine, sessions, top_tenant,
                                                                make_user, login):
    child = make_tenant(sessions, top_tenant, 'child')
    prepare(make_config(db_uri=db_uri, default_policies={
        'wazo_default_user_policy': USER_POLICY}), engine)

    listed = admin.ok('GET', '/policies', tenant=child, query={'read_only': 'true'})

    assert [(p['slug'], p['read_only'], p['tenant_uuid']) for p in listed['items']] == [
        ('wazo_default_user_policy', True, str(child))]
    app = create_app(make_config(db_uri=db_uri, default_user_policy='wazo_default_user_policy'),
                     engine=engine)
    try:
        make_user('bob', tenant_uuid=child)
        response = app.test_client().post('/0.1/token', json={}, headers=basic('bob', 's3cret'))
        assert response.get_json()['data']['acl'] == USER_POLICY['acl']
    finally:
        shutdown(app)


def test_every_tenant_gets_its_all_users_group_with_its_users(make_config, db_uri, engine,
                                                              sessions, top_tenant, make_user):
    child = make_tenant(sessions, top_tenant, 'child')
    top_user, child_user = make_user('bob'), make_user('kid', tenant_uuid=child)

    for _ in range(2):  # idempotent
        prepare(make_config(db_uri=db_uri), engine)

    with sessions() as db:
        groups = {g.tenant_uuid: g for g in db.scalars(select(Group))}
        members = {(m.user_uuid, m.group_uuid) for m in db.scalars(select(UserGroup))}
    assert set(groups) == {top_tenant, child}
    assert groups[child].name == groups[child].slug == f'wazo-all-users-tenant-{child}'
    assert all(g.system_managed for g in groups.values())
    assert members == {(top_user, groups[top_tenant].uuid), (child_user, groups[child].uuid)}


def test_a_missing_top_tenant_is_recreated(engine, top_tenant):
    # Everything happens in one transaction rolled back at the end: the top tenant is made
    # the child of its own child, so no tenant is its own parent any more.
    with engine.connect() as conn, conn.begin() as outer:
        other = uuid.uuid4()
        conn.execute(text("INSERT INTO tenant (uuid, parent_uuid, slug) VALUES (:u, :t, 'o')"),
                     {'u': other, 't': top_tenant})
        conn.execute(text('UPDATE tenant SET parent_uuid = :o WHERE uuid = :t'),
                     {'o': other, 't': top_tenant})
        sessions = sessionmaker(bind=conn, join_transaction_mode='create_savepoint')

        top = StartupService(sessions=sessions, default_policies={}).run()

        row = conn.execute(text('SELECT parent_uuid, name, slug FROM tenant WHERE uuid = :u'),
                           {'u': top}).one()
        assert top not in (top_tenant, other)
        assert (row.parent_uuid, row.name) == (top, 'master') and row.slug != 'master'
        outer.rollback()


def test_nodes_starting_together_do_not_collide(make_config, db_uri, engine, sessions):
    config = make_config(db_uri=db_uri, default_policies={'p': {'acl': ['a']}})
    errors = []

    def run():
        try:
            prepare(config, engine)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert set(managed(sessions)) == {'p'}


def test_default_policy_acl_lists_concatenate_across_conf_d_files(tmp_path):
    main = tmp_path / 'config.yml'
    main.write_text('default_policies:\n  p:\n    acl: [a, b]\n  gone: {acl: [z]}\n')
    (tmp_path / 'conf.d').mkdir()
    (tmp_path / 'conf.d' / '10-calld.yml').write_text(
        'default_policies:\n  p:\n    acl: [calld.#, a]\n    description: from calld\n')
    (tmp_path / 'conf.d' / '20-drop.yml').write_text('default_policies:\n  gone: null\n')

    config = load_config(str(main), flags={'state_dir': str(tmp_path)}, environ={})

    assert config['default_policies'] == {
        'p': {'acl': ['a', 'b', 'calld.#'], 'description': 'from calld'}}
    assert config['update_policy_on_startup'] is True


def test_bad_default_policies_stop_the_start_naming_the_key(tmp_path):
    for bad in ('[a]', '{p: {acl: [1]}}', '{"a b": {acl: []}}', '{p: {acl: x}}'):
        main = tmp_path / 'config.yml'
        main.write_text(f'default_policies: {bad}\n')
        with pytest.raises(ConfigError, match='default_policies'):
            load_config(str(main), flags={'state_dir': str(tmp_path)}, environ={})


def test_the_bootstrap_command_shares_the_reconciliation(make_config, db_uri, sessions,
                                                         top_tenant, capsys):
    config = make_config(db_uri=db_uri, default_policies={'p': {'acl': ['a']}})

    assert commands.bootstrap(config, argparse.Namespace(username='boot', password='pw')) == 0

    assert set(managed(sessions)) == {'p'}
    with sessions() as db:
        groups = db.execute(select(Group.name).join(UserGroup).join(
            User, User.uuid == UserGroup.user_uuid).where(User.username == 'boot')).scalars()
        assert list(groups) == [f'wazo-all-users-tenant-{top_tenant}']
