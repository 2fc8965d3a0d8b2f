"""Mail links die with the address they were mailed to: when a user's address is removed,
replaced or un-confirmed, the reset and confirmation links already mailed there stop working
(whoever still reads the old mailbox cannot take the account over), while links mailed to an
address the user keeps go on working. A confirmation link also dies when the account's password
changes or the user is disabled, as a reset link does. Real SMTP server, real PostgreSQL, through
the HTTP API."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support.admin_client import AdminClient, token_of
from tests.support.smtp_server import (api_of, deliver, link_in, mail_config,  # noqa: F401
                                           mailbox, path_of)

RESET = '/0.1/users/password/reset'


@pytest.fixture
def config(mail_config, mailbox):  # noqa: F811
    return mail_config(mailbox.port)


@pytest.fixture
def alice(make_user):
    return make_user('alice', 's3cret', email='alice@example.com',
                     acl=['auth.users.me.emails.update'])


def reset_link(client, app, mailbox, **query) -> str:  # noqa: F811
    before = len(mailbox.received)
    assert client.get(RESET, query_string=query).status_code == 204
    deliver(app)
    return link_in(mailbox.wait(before + 1)[-1])


def addresses(*items) -> dict:
    return {'emails': [{'address': a, 'main': i == 0, **extra}
                       for i, (a, extra) in enumerate(items)]}


def assert_link_void(client, link: str, login) -> None:
    page = client.get(path_of(link))
    assert page.status_code == 401 and '<h1>Link not valid</h1>' in page.text
    refused = client.post(api_of(link), json={'password': 'taken-over'})
    assert refused.status_code == 401 and refused.get_json()['error_id'] == 'unauthorized'
    assert login('alice', 'taken-over').status_code == 401
    assert login('alice', 's3cret').status_code == 200


@pytest.mark.parametrize('who,path', [('admin', '/admin/users/{u}/emails'),
                                      ('admin', '/users/{u}/emails'),
                                      ('alice', '/users/me/emails')])
def test_replacing_an_address_voids_the_reset_link_mailed_to_it(client, app, mailbox, admin,
                                                                alice, login, who, path):
    link = reset_link(client, app, mailbox, username='alice')
    caller = admin if who == 'admin' else AdminClient(client, token_of(login, 'alice'))
    caller.ok('PUT', path.format(u=alice), json=addresses(('new@example.com', {})))
    assert_link_void(client, link, login)


def test_removing_every_address_voids_the_reset_link(client, app, mailbox, admin, alice,
                                                     login):
    link = reset_link(client, app, mailbox, username='alice')
    admin.ok('PUT', f'/users/{alice}/emails', json={'emails': []})
    assert_link_void(client, link, login)


def test_un_confirming_an_address_voids_the_reset_link_mailed_to_it(client, app, mailbox,
                                                                    admin, alice, login):
    link = reset_link(client, app, mailbox, username='alice')
    admin.ok('PUT', f'/admin/users/{alice}/emails',
             json=addresses(('alice@example.com', {'confirmed': False})))
    assert_link_void(client, link, login)


def test_a_reset_link_whose_address_is_no_longer_confirmed_is_refused(client, app, mailbox,
                                                                      alice, login, engine):
    # However it came to be: un-confirming voids the address's links, but a reset mail being
    # prepared at that moment (the sender read the address as confirmed, the administrator's
    # transaction did not see its new token) keeps one. The link checks its address itself.
    link = reset_link(client, app, mailbox, username='alice')
    with engine.begin() as conn:
        conn.execute(text('UPDATE auth_email SET confirmed = false'))
    assert_link_void(client, link, login)


def test_a_link_mailed_to_a_kept_address_keeps_working(client, app, mailbox, admin, alice,
                                                       login):
    admin.ok('PUT', f'/admin/users/{alice}/emails', json=addresses(
        ('alice@example.com', {}), ('work@example.com', {'confirmed': True})))
    link = reset_link(client, app, mailbox, email='work@example.com')
    assert mailbox.received[-1][0] == ['work@example.com']
    # The other address goes, and the kept one gains a sibling: the link is still good.
    admin.ok('PUT', f'/admin/users/{alice}/emails', json=addresses(
        ('work@example.com', {}), ('home@example.com', {'confirmed': True})))
    assert client.get(path_of(link)).status_code == 200
    assert client.post(api_of(link), json={'password': 'n3w-pass'}).status_code == 204
    assert login('alice', 'n3w-pass').status_code == 200


def test_a_link_mailed_before_addresses_were_recorded_dies_with_any_address(
        client, app, mailbox, admin, alice, login, engine):
    # Reset tokens issued by an earlier version do not name their address: any removed
    # address may have been theirs, so removing one voids them.
    link = reset_link(client, app, mailbox, username='alice')
    with engine.begin() as conn:
        conn.execute(text('UPDATE auth_mail_token SET email_uuid = NULL'))
    admin.ok('PUT', f'/admin/users/{alice}/emails', json=addresses(
        ('alice@example.com', {}), ('other@example.com', {'confirmed': True})))
    assert client.get(path_of(link)).status_code == 200  # nothing removed yet
    admin.ok('PUT', f'/admin/users/{alice}/emails', json=addresses(
        ('alice@example.com', {})))
    assert_link_void(client, link, login)


def test_replacing_an_address_voids_its_confirmation_link(client, app, mailbox, admin,
                                                          make_user):
    carol = make_user('carol', 's3cret', email='carol@example.com', email_confirmed=False)
    [email] = admin.ok('GET', f'/users/{carol}')['emails']
    admin.ok('GET', f'/users/{carol}/emails/{email["uuid"]}/confirm', 204)
    deliver(app)
    link = link_in(mailbox.wait(1)[-1])
    admin.ok('PUT', f'/users/{carol}/emails', json=addresses(('carol2@example.com', {})))
    page = client.get(path_of(link))
    assert page.status_code == 401 and 'Link not valid' in page.text
    assert [e['confirmed'] for e in admin.ok('GET', f'/users/{carol}')['emails']] == [False]


def test_deleting_the_user_voids_its_links(client, app, mailbox, admin, alice):
    link = reset_link(client, app, mailbox, username='alice')
    admin.ok('DELETE', f'/users/{alice}', 204)
    page = client.get(path_of(link))
    assert page.status_code == 401 and '<h1>Link not valid</h1>' in page.text
    assert client.post(api_of(link), json={'password': 'x'}).status_code == 401


def confirmation_link(client, app, mailbox, admin, user_uuid,  # noqa: F811
                      address: str) -> tuple[str, str]:
    """The link of a confirmation mail for the user's ``address``, and that address's uuid."""
    [email] = [e for e in admin.ok('GET', f'/users/{user_uuid}')['emails']
               if e['address'] == address]
    before = len(mailbox.received)
    admin.ok('GET', f'/users/{user_uuid}/emails/{email["uuid"]}/confirm', 204)
    deliver(app)
    return link_in(mailbox.wait(before + 1)[-1]), email['uuid']


@pytest.mark.parametrize('change', ['reset by mail', 'reset by an administrator',
                                    'password change'])
def test_a_password_change_voids_the_confirmation_links(client, app, mailbox, admin,
                                                        make_user, login, change):
    # An intruder who added its own address to the account and holds its confirmation link
    # must not confirm it once the owner has taken the account back: a confirmed address
    # receives the owner's password resets (and is a login), so the intruder would be back.
    intruder = make_user('bob', 's3cret', email='intruder@example.com', email_confirmed=False,
                         acl=['auth.users.me.password.update'])
    link, email_uuid = confirmation_link(client, app, mailbox, admin, intruder,
                                         'intruder@example.com')
    if change == 'password change':
        AdminClient(client, token_of(login, 'bob')).ok(
            'PUT', f'/users/{intruder}/password', 204,
            json={'old_password': 's3cret', 'new_password': 'taken-back'})
    elif change == 'reset by an administrator':
        admin.ok('POST', '/users/password/reset', 204, query={'user_uuid': str(intruder)},
                 json={'password': 'taken-back'})
    else:
        admin.ok('PUT', f'/admin/users/{intruder}/emails', json=addresses(
            ('intruder@example.com', {}), ('bob@example.com', {'confirmed': True})))
        reset = reset_link(client, app, mailbox, email='bob@example.com')
        assert client.post(api_of(reset), json={'password': 'taken-back'}).status_code == 204
    page = client.get(path_of(link))
    assert page.status_code == 401 and '<h1>Link not valid</h1>' in page.text
    token = link.rpartition('token=')[2]
    assert client.put(f'/0.1/emails/{email_uuid}/confirm',
                      headers={'X-Auth-Token': token}).status_code == 401
    emails = admin.ok('GET', f'/users/{intruder}')['emails']
    assert [e['confirmed'] for e in emails if e['uuid'] == email_uuid] == [False]
    assert login('intruder@example.com', 'taken-back').status_code == 401
    fresh, _ = confirmation_link(client, app, mailbox, admin, intruder, 'intruder@example.com')
    assert client.get(path_of(fresh)).status_code == 200  # mailed after the change: works


def test_a_disabled_users_confirmation_link_is_refused(client, app, mailbox, admin, make_user):
    carol = make_user('carol', 's3cret', email='carol@example.com', email_confirmed=False)
    link, _ = confirmation_link(client, app, mailbox, admin, carol, 'carol@example.com')
    admin.ok('PUT', f'/users/{carol}', json={'username': 'carol', 'enabled': False})
    page = client.get(path_of(link))
    assert page.status_code == 401 and '<h1>Link not valid</h1>' in page.text
    assert [e['confirmed'] for e in admin.ok('GET', f'/users/{carol}')['emails']] == [False]
