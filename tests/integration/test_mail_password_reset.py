"""Password reset by mail (admin spec §1.13) against a real SMTP server: the link received is
followed through the HTTP API; bad input never answers 500 nor tells whether an account
exists."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support.admin_client import AdminClient, token_of
from tests.support.apps import running_app
from tests.support.bus_events import received
from tests.support.credentials import basic
from tests.support.offline_access import make_tenant
from tests.support.smtp_server import (api_of, deliver, link_in, mail_config,  # noqa: F401
                                           mailbox, path_of, query_of)

RESET = '/0.1/users/password/reset'


@pytest.fixture
def config(mail_config, mailbox):  # noqa: F811
    return mail_config(mailbox.port)


@pytest.fixture
def alice(make_user):
    return make_user('alice', 's3cret', email='alice@example.com')


def ask(client, **query):
    return client.get(RESET, query_string=query)


def reset_link(client, app, mailbox, **query) -> str:  # noqa: F811
    before = len(mailbox.received)
    assert ask(client, **query).status_code == 204
    deliver(app)
    return link_in(mailbox.wait(before + 1)[-1])


def test_reset_link_sets_the_password_and_ends_every_session(client, app, mailbox, alice,
                                                             login):
    session_token = token_of(login, 'alice')
    response = ask(client, username='alice')
    assert response.status_code == 204 and response.get_data() == b''
    deliver(app)
    message = mailbox.last()
    assert message['To'].addresses[0].addr_spec == 'alice@example.com'
    assert message['Subject'] == 'Password reset'
    link = link_in(message)
    assert link.startswith('https://auth.example.com/api/auth/0.1/users/password/reset/page?')
    assert query_of(link)['user_uuid'] == str(alice)
    assert login('alice', 's3cret').status_code == 200  # still works until the reset is done

    assert client.post(api_of(link), json={'password': 'n3w-pass'}).status_code == 204
    assert login('alice', 's3cret').status_code == 401
    assert login('alice', 'n3w-pass').status_code == 200
    assert client.get(f'/0.1/token/{session_token}').status_code == 404


def test_a_reset_publishes_the_users_update_on_the_bus(client, app, mailbox, alice, publisher,
                                                      consumer):
    link = reset_link(client, app, mailbox, username='alice')

    assert client.post(api_of(link), json={'password': 'n3w-pass'}).status_code == 204

    [message] = received(consumer, 'auth_user_updated', uuid=str(alice))
    assert message.body['data'] == {'uuid': str(alice), 'tenant_uuid': message.headers[
        'tenant_uuid'], 'username': 'alice', 'purpose': 'user'}


@pytest.mark.parametrize('query', [{'email': 'ALICE@example.com'}, {'login': 'alice'},
                                   {'login': 'alice@example.com'}])
def test_reset_by_email_or_login(client, app, mailbox, alice, query):
    link = reset_link(client, app, mailbox, **query)
    assert mailbox.received[-1][0] == ['alice@example.com']
    assert client.post(api_of(link), json={'password': 'other'}).status_code == 204


def test_nobody_can_tell_whether_an_account_exists(client, app, mailbox, make_user, alice):
    make_user('dave', 'pw', email='dave@example.com', enabled=False)
    make_user('carol', 'pw', email='carol@example.com', email_confirmed=False)
    make_user('nomail', 'pw')
    answers = []
    for query in ({'username': 'alice'}, {'username': 'nobody'}, {'email': 'no@example.com'},
                  {'username': 'dave'}, {'email': 'carol@example.com'}, {'login': 'nomail'},
                  {'email': 'x' * 5000 + '@example.com'}, {'email': 'josé@exämple.com'}):
        response = ask(client, **query)
        answers.append((response.status_code, response.get_data(),
                        sorted(k for k in response.headers.keys() if k != 'Date')))
    assert len(set(map(repr, answers))) == 1 and answers[0][0] == 204
    deliver(app)
    assert [recipients for recipients, _, _ in mailbox.received] == [['alice@example.com']]


def test_reset_token_serves_once(client, app, mailbox, alice, login):
    link = reset_link(client, app, mailbox, username='alice')
    assert client.post(api_of(link), json={'password': 'first'}).status_code == 204
    again = client.post(api_of(link), json={'password': 'second'})
    assert again.status_code == 401 and again.get_json()['error_id'] == 'unauthorized'
    assert login('alice', 'first').status_code == 200


def test_only_the_newest_reset_link_works(client, app, mailbox, alice, login):
    # A newer reset mail voids the older link: a leaked or forwarded old mail is harmless.
    older = reset_link(client, app, mailbox, username='alice')
    newer = reset_link(client, app, mailbox, email='alice@example.com')
    refused = client.post(api_of(older), json={'password': 'from-old-mail'})
    assert refused.status_code == 401 and refused.get_json()['error_id'] == 'unauthorized'
    assert login('alice', 'from-old-mail').status_code == 401
    assert client.post(api_of(newer), json={'password': 'from-new-mail'}).status_code == 204
    assert login('alice', 'from-new-mail').status_code == 200


def test_reset_token_of_another_user_is_refused(client, app, mailbox, alice, make_user,
                                                login):
    bob = make_user('bob', 'b0b', email='bob@example.com')
    link = reset_link(client, app, mailbox, username='alice')
    token = query_of(link)['token']
    response = client.post(RESET, query_string={'user_uuid': str(bob), 'token': token},
                           json={'password': 'stolen'})
    assert response.status_code == 401
    assert login('bob', 'b0b').status_code == 200


def test_tampered_and_expired_tokens_are_refused(client, app, mailbox, alice, engine, login):
    link = reset_link(client, app, mailbox, username='alice')
    token = query_of(link)['token']
    tampered = token[:-1] + ('A' if token[-1] != 'A' else 'B')
    for bad in (tampered, token[:20], token + 'x', ''):
        response = client.post(RESET, query_string={'user_uuid': str(alice), 'token': bad},
                               json={'password': 'x'})
        assert response.status_code == 401, bad
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_mail_token SET expires_at = now() - interval '1 s'"))
    assert client.post(api_of(link), json={'password': 'x'}).status_code == 401
    assert login('alice', 's3cret').status_code == 200


def test_changing_the_password_another_way_voids_the_link(client, app, mailbox, alice, admin,
                                                          login):
    link = reset_link(client, app, mailbox, username='alice')
    admin.ok('PUT', f'/users/{alice}/password', 204,
             json={'old_password': 's3cret', 'new_password': 'changed'})
    assert client.post(api_of(link), json={'password': 'x'}).status_code == 401
    assert login('alice', 'changed').status_code == 200


def test_a_stronger_hash_written_at_login_keeps_the_links(client, app, mailbox, alice, login,
                                                          admin, mail_config, engine,  # noqa
                                                          make_user):
    # The same password stored anew (a higher configured cost) is no password change: the
    # links mailed before it, which remember the hash, keep working.
    carol = make_user('carol', 'pw', email='carol@example.com', email_confirmed=False)
    link = reset_link(client, app, mailbox, username='alice')
    [email] = admin.ok('GET', f'/users/{carol}')['emails']
    admin.ok('GET', f'/users/{carol}/emails/{email["uuid"]}/confirm', 204)
    deliver(app)
    confirmation = link_in(mailbox.wait(2)[-1])
    with running_app(mail_config(mailbox.port, password_hash_rounds=5), engine) as stronger:
        for username, password in (('alice', 's3cret'), ('carol', 'pw')):
            response = stronger.test_client().post('/0.1/token', json={},
                                                   headers=basic(username, password))
            assert response.status_code == 200
    assert client.post(api_of(link), json={'password': 'n3w-pass'}).status_code == 204
    assert login('alice', 'n3w-pass').status_code == 200
    assert client.get(path_of(confirmation)).status_code == 200


def test_reset_token_opens_nothing_else(client, app, mailbox, alice):
    token = query_of(reset_link(client, app, mailbox, username='alice'))['token']
    assert client.get(f'/0.1/users/{alice}', headers={'X-Auth-Token': token}).status_code == 401
    assert client.get(f'/0.1/token/{token}').status_code == 404
    assert client.put(f'/0.1/users/{alice}/password', headers={'X-Auth-Token': token},
                      json={'old_password': 's3cret', 'new_password': 'x'}).status_code == 401


def test_an_access_token_needs_the_reset_acl(client, alice, admin, login):
    own = token_of(login, 'alice')
    refused = client.post(RESET, query_string={'user_uuid': str(alice)},
                          headers={'X-Auth-Token': own}, json={'password': 'mine'})
    assert refused.status_code == 401
    assert refused.get_json()['details']['required_access'] == \
        f'auth.users.password.reset.{alice}.create'
    admin.ok('POST', '/users/password/reset', 204, query={'user_uuid': str(alice)},
             json={'password': 'by-admin'})
    assert login('alice', 'by-admin').status_code == 200
    admin.ok('POST', '/users/password/reset', 204, query={'user_uuid': str(alice)},
             json={'password': None})  # null removes the password
    assert login('alice', 'by-admin').status_code == 401


def test_an_administrator_of_another_tenant_cannot_reset_a_password(client, admin, login,
                                                                     make_user, sessions,
                                                                     top_tenant):
    # A sub-tenant's administrator holding everything there must not take over the operator.
    other = make_tenant(sessions, top_tenant, 'other')
    make_user('other-admin', 'pw', acl=['#'], tenant_uuid=other)
    outsider = AdminClient(client, token_of(login, 'other-admin', 'pw'))
    root = admin.ok('GET', '/users', query={'username': 'root-admin'})['items'][0]['uuid']

    for headers in ({}, {'Wazo-Tenant': str(top_tenant)}):
        response = client.post(RESET, query_string={'user_uuid': root}, json={'password': 'x'},
                               headers={'X-Auth-Token': outsider.token, **headers})
        assert response.status_code in (401, 404), response.get_data()

    assert login('root-admin', 'x').status_code == 401
    assert login('root-admin', 's3cret').status_code == 200
    make_user('carol', 'pw', tenant_uuid=other)  # its own tenant's users: as before
    carol = outsider.ok('GET', '/users', query={'username': 'carol'})['items'][0]['uuid']
    outsider.ok('POST', '/users/password/reset', 204, query={'user_uuid': carol},
                json={'password': 'by-admin'})
    assert login('carol', 'by-admin').status_code == 200


def test_a_reset_cannot_take_over_a_user_holding_more_than_the_caller(client, login,
                                                                      make_user):
    # Setting a password is becoming its user: the caller must hold what the user holds.
    boss = make_user('boss', 'pw', acl=['#'])
    clerk = make_user('clerk', 'pw', acl=['calld.calls.read'])
    make_user('helpdesk', 'pw', acl=['auth.users.#', 'calld.#'])
    helpdesk = AdminClient(client, token_of(login, 'helpdesk', 'pw'))

    refused = helpdesk.post('/users/password/reset', query={'user_uuid': str(boss)},
                            json={'password': 'mine'})

    assert refused.status_code == 401, refused.get_data()
    assert refused.get_json()['details']['required_access'] == '#'
    assert login('boss', 'mine').status_code == 401
    assert login('boss', 'pw').status_code == 200
    helpdesk.ok('POST', '/users/password/reset', 204, query={'user_uuid': str(clerk)},
                json={'password': 'new'})
    assert login('clerk', 'new').status_code == 200


def test_admin_reset_of_an_unknown_user_is_404(admin):
    response = admin.post('/users/password/reset',
                          query={'user_uuid': '00000000-0000-4000-8000-000000000000'},
                          json={'password': 'x'})
    assert response.status_code == 404 and response.get_json()['error_id'] == 'unknown-user'


@pytest.mark.parametrize('query', [{}, {'username': 'a', 'email': 'a@b.c'}, {'username': ''},
                                   {'user': 'alice'}])
def test_reset_request_needs_exactly_one_of_username_email_login(client, query):
    response = ask(client, **query)
    assert response.status_code == 400
    assert response.get_json()['error_id'] == 'invalid-data'
    assert response.get_json()['resource'] == 'reset'


@pytest.mark.parametrize('query,body', [
    ({'user_uuid': 'not-a-uuid'}, {'password': 'x'}),
    ({}, {'password': 'x'}),
    ({'user_uuid': '00000000-0000-4000-8000-000000000000'}, {}),
    ({'user_uuid': '00000000-0000-4000-8000-000000000000'}, {'password': ''}),
    ({'user_uuid': '00000000-0000-4000-8000-000000000000'}, {'password': 42}),
])
def test_bad_reset_bodies_and_queries_are_400(client, admin, query, body):
    response = admin.post('/users/password/reset', query=query, json=body)
    assert response.status_code == 400, response.get_json()


def test_reset_requests_are_throttled_per_value_known_or_not(client, alice):
    for username in ('alice', 'nobody'):
        for _ in range(3):
            assert ask(client, username=username).status_code == 204
        refused = ask(client, username=username.upper())  # case does not reset the budget
        assert refused.status_code == 429
        assert 1 <= int(refused.headers['Retry-After']) <= 900
        assert refused.get_json()['error_id'] == 'too-many-attempts'


def test_reset_requests_of_one_ipv6_network_share_the_client_budget(mail_config, mailbox,  # noqa
                                                                    engine):
    # A client holds its whole /64 and changes addresses in it for free: counted per address,
    # it would ask for resets (and fill the outbox) without bound.
    with running_app(mail_config(mailbox.port, mail={'requests_per_client': 2}), engine) as app:
        client = app.test_client()
        answers = [client.get(RESET, query_string={'username': f'user{i}'}, environ_base={
            'REMOTE_ADDR': f'2001:db8:0:1::{i + 1:x}'}).status_code for i in range(3)]
        elsewhere = client.get(RESET, query_string={'username': 'user9'},
                               environ_base={'REMOTE_ADDR': '2001:db8:0:2::1'})
    assert answers == [204, 204, 429]
    assert elsewhere.status_code == 204  # another network has its own budget


def test_a_mailbox_gets_at_most_the_per_user_budget(client, app, mailbox, alice):
    for query in ({'username': 'alice'}, {'email': 'alice@example.com'}, {'login': 'alice'},
                  {'login': 'alice@example.com'}):
        assert ask(client, **query).status_code == 204
    deliver(app)
    assert len(mailbox.received) == 3  # mail.requests_per_user; the fourth answered 204 too


def test_without_smtp_a_reset_request_still_answers_204_and_writes_nothing(make_config,
                                                                           db_uri, engine,
                                                                           alice):
    # Without SMTP no mail sender runs, and nothing forgets counters past their window: a
    # counter per value asked for would pile up for good.
    with running_app(make_config(db_uri=db_uri), engine) as app:
        for value in ('alice', 'alice', 'alice', 'alice', 'nobody', 'x' * 2000):
            assert app.test_client().get(RESET, query_string={'username': value}) \
                .status_code == 204
    with engine.connect() as conn:
        assert conn.execute(text('SELECT count(*) FROM auth_mail_outbox')).scalar() == 0
        assert conn.execute(text('SELECT count(*) FROM auth_mail_request')).scalar() == 0
