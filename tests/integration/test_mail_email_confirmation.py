"""E-mail confirmation (admin spec §1.9) with a real SMTP server: the mailed link confirms the
address (page or API); only a confirmed address is a login."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from tests.support.admin_client import AdminClient, token_of
from tests.support.apps import running_app
from tests.support.bus_events import received
from tests.support.credentials import basic
from tests.support.offline_access import assert_error, make_tenant
from tests.support.polling import wait_until
from tests.support.smtp_server import (deliver, html_of, link_in, mail_config,  # noqa: F401
                                           mailbox, path_of, query_of)
from wazo_like_auth.models import Email

UNKNOWN = '00000000-0000-4000-8000-000000000000'


@pytest.fixture
def config(mail_config, mailbox):  # noqa: F811
    return mail_config(mailbox.port)


@pytest.fixture
def carol(make_user):
    return make_user('carol', 's3cret', email='carol@example.com', email_confirmed=False)


def email_of(admin, user_uuid) -> dict:
    return admin.ok('GET', f'/users/{user_uuid}')['emails'][0]


def confirmation_link(admin, app, mailbox, user_uuid) -> str:  # noqa: F811
    email = email_of(admin, user_uuid)
    before = len(mailbox.received)
    admin.ok('GET', f'/users/{user_uuid}/emails/{email["uuid"]}/confirm', 204)
    deliver(app)
    return link_in(mailbox.wait(before + 1)[-1])


def test_the_mailed_link_confirms_the_address_which_becomes_a_login(client, app, mailbox,
                                                                    admin, carol, login):
    assert login('carol@example.com', 's3cret').status_code == 401  # unconfirmed: no login
    link = confirmation_link(admin, app, mailbox, carol)
    message = mailbox.last()
    assert message['Subject'] == 'Confirm your e-mail address'
    assert 'carol@example.com' in html_of(message) and link in html_of(message)
    email = email_of(admin, carol)
    assert link == (f'https://auth.example.com/api/auth/0.1/emails/{email["uuid"]}/confirm'
                    f'?token={query_of(link)["token"]}')

    page = client.get(path_of(link))
    assert page.status_code == 200 and page.mimetype == 'text/html'
    assert b'Address confirmed' in page.get_data()
    assert "default-src 'none'" in page.headers['Content-Security-Policy']
    assert email_of(admin, carol)['confirmed'] is True
    assert login('carol@example.com', 's3cret').status_code == 200


def test_put_with_the_link_token_confirms(client, app, mailbox, admin, carol):
    link = confirmation_link(admin, app, mailbox, carol)
    email = email_of(admin, carol)
    response = client.put(f'/0.1/emails/{email["uuid"]}/confirm',
                          headers={'X-Auth-Token': query_of(link)['token']})
    assert response.status_code == 204
    assert email_of(admin, carol)['confirmed'] is True


def test_a_confirmation_publishes_the_users_update_on_the_bus(client, app, mailbox, admin,
                                                            carol, publisher, consumer):
    link = confirmation_link(admin, app, mailbox, carol)
    email = email_of(admin, carol)
    assert client.put(f'/0.1/emails/{email["uuid"]}/confirm',
                      headers={'X-Auth-Token': query_of(link)['token']}).status_code == 204

    [message] = received(consumer, 'auth_user_updated', uuid=str(carol))
    assert 'carol@example.com' not in str(message.body)  # the address is not in the event


def test_a_confirmation_during_a_rename_comes_after_it_on_the_bus(client, app, mailbox, admin,
                                                                  carol, engine):
    """The link clicked while an administrator's rename of the user is not yet committed: the
    confirmation waits for it, so its ``auth_user_updated`` follows the rename's and names the
    user as renamed. A consumer keeping the last event keeps the right name (before, the
    confirmation's event, later on the bus, named the user as it was)."""
    link = confirmation_link(admin, app, mailbox, carol)
    email = email_of(admin, carol)
    answers = []
    with engine.connect() as renaming:  # the administrator's transaction, still open
        renaming.execute(text("UPDATE auth_user SET username = 'caroline' WHERE uuid = :u"),
                         {'u': carol})
        confirming = threading.Thread(target=lambda: answers.append(client.put(
            f'/0.1/emails/{email["uuid"]}/confirm',
            headers={'X-Auth-Token': query_of(link)['token']}).status_code))
        confirming.start()
        assert wait_until(lambda: not confirming.is_alive() or _waiting_for_a_lock(engine))
        renaming.commit()
    confirming.join(timeout=10)
    assert answers == [204] and email_of(admin, carol)['confirmed'] is True
    with engine.connect() as conn:
        named = conn.execute(text(
            "SELECT data->>'username' FROM auth_event WHERE name = 'auth_user_updated' "
            "AND user_uuid = :u ORDER BY id"), {'u': carol}).scalars().all()
    assert named == ['caroline', 'caroline']


def _waiting_for_a_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar())


def test_confirming_again_is_409_and_a_used_link_is_refused(client, app, mailbox, admin,
                                                            carol):
    link = confirmation_link(admin, app, mailbox, carol)
    assert client.get(path_of(link)).status_code == 200
    email = email_of(admin, carol)
    again = admin.get(f'/users/{carol}/emails/{email["uuid"]}/confirm')
    assert again.status_code == 409
    assert again.get_json()['message'] == f'This email already confirmed: "{email["uuid"]}"'
    assert again.get_json()['resource'] == 'emails'
    reused = client.get(path_of(link))
    assert reused.status_code == 401 and b'not valid' in reused.get_data()


def test_any_link_mailed_for_the_address_confirms_it_once(client, app, mailbox, admin, carol):
    # A confirmation link only proves the mailbox is the user's: an older mail's link works
    # too, and once the address is confirmed every link of it says why it no longer does.
    older = confirmation_link(admin, app, mailbox, carol)
    newer = confirmation_link(admin, app, mailbox, carol)
    assert client.get(path_of(older)).status_code == 200
    assert email_of(admin, carol)['confirmed'] is True
    page = client.get(path_of(newer))
    assert page.status_code == 401 and '<h1>Link not valid</h1>' in page.text
    assert 'already confirmed' in page.text and 'newer' not in page.text


def test_unknown_user_or_address_is_404(admin, carol, make_user):
    email = email_of(admin, carol)
    bob = make_user('bob', 'pw', email='bob@example.com', email_confirmed=False)
    bob_email = email_of(admin, bob)
    for path, error in ((f'/users/{UNKNOWN}/emails/{email["uuid"]}/confirm', 'unknown-user'),
                        (f'/users/{carol}/emails/{UNKNOWN}/confirm', 'unknown-email'),
                        (f'/users/{carol}/emails/{bob_email["uuid"]}/confirm', 'unknown-email')):
        response = admin.get(path)
        assert response.status_code == 404 and response.get_json()['error_id'] == error
        assert response.get_json()['resource'] == 'emails'


def test_tampered_expired_and_cross_address_tokens_are_refused(client, app, mailbox, admin,
                                                               carol, make_user, engine):
    link = confirmation_link(admin, app, mailbox, carol)
    token = query_of(link)['token']
    bob = make_user('bob', 'pw', email='bob@example.com', email_confirmed=False)
    bob_email = email_of(admin, bob)
    carol_email = email_of(admin, carol)
    assert client.put(f'/0.1/emails/{bob_email["uuid"]}/confirm',
                      query_string={'token': token}).status_code == 401
    assert client.put(f'/0.1/emails/{carol_email["uuid"]}/confirm',
                      query_string={'token': token[::-1]}).status_code == 401
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_mail_token SET expires_at = now() - interval '1 s'"))
    page = client.get(path_of(link))
    assert page.status_code == 401 and page.mimetype == 'text/html'
    assert email_of(admin, carol)['confirmed'] is False
    assert email_of(admin, bob)['confirmed'] is False


def test_unknown_address_page_is_readable(client):
    page = client.get(f'/0.1/emails/{UNKNOWN}/confirm', query_string={'token': 'x' * 43})
    assert page.status_code == 401 and page.mimetype == 'text/html'


@pytest.mark.parametrize('mangled', ['not-a-uuid', UNKNOWN[:-1], UNKNOWN + 'x',
                                     UNKNOWN.replace('-', ''), '%00', 'é' * 300])
def test_a_mangled_link_opens_a_readable_page_and_the_api_keeps_its_envelope(client, mangled):
    for prefix in ('/0.1', '/api/auth/0.1'):
        page = client.get(f'{prefix}/emails/{mangled}/confirm', query_string={'token': 'x' * 43})
        assert page.status_code == 404 and page.mimetype == 'text/html', page.get_data()[:200]
        assert '<h1>Link not valid</h1>' in page.text and 'from your mail' in page.text
        assert "default-src 'none'" in page.headers['Content-Security-Policy']
        assert page.headers['Referrer-Policy'] == 'no-referrer'
        api = client.put(f'{prefix}/emails/{mangled}/confirm', query_string={'token': 'x'})
        assert_error(api, 404, 'not-found')


def test_an_access_token_needs_the_confirm_acl(client, admin, carol, make_user, login):
    make_user('mallory', 'pw')
    email = email_of(admin, carol)
    own = token_of(login, 'mallory', 'pw')
    assert client.put(f'/0.1/emails/{email["uuid"]}/confirm',
                      headers={'X-Auth-Token': own}).status_code == 401
    admin.ok('PUT', f'/emails/{email["uuid"]}/confirm', 204)
    assert email_of(admin, carol)['confirmed'] is True
    admin.ok('PUT', f'/emails/{email["uuid"]}/confirm', 204)  # idempotent, as wazo-auth
    assert admin.put(f'/emails/{UNKNOWN}/confirm').status_code == 404


def test_confirmation_requests_are_throttled_per_user(admin, app, mailbox, carol):
    email = email_of(admin, carol)
    path = f'/users/{carol}/emails/{email["uuid"]}/confirm'
    for _ in range(3):
        admin.ok('GET', path, 204)
    refused = admin.get(path)
    assert refused.status_code == 429 and int(refused.headers['Retry-After']) >= 1
    deliver(app)
    assert len(mailbox.received) == 3


def test_a_user_can_ask_for_its_own_confirmation_mail(client, app, mailbox, make_user, login,
                                                      sessions):
    user = make_user('erin', 'pw', email='erin@example.com', email_confirmed=False,
                     acl=['auth.users.me.emails.#'])
    token = token_of(login, 'erin', 'pw')
    with sessions() as s:
        email_uuid = s.scalars(select(Email.uuid).where(Email.user_uuid == user)).one()
    response = client.get(f'/0.1/users/{user}/emails/{email_uuid}/confirm',
                          headers={'X-Auth-Token': token})
    assert response.status_code == 204
    deliver(app)
    assert mailbox.last()['To'].addresses[0].addr_spec == 'erin@example.com'


def test_a_tenant_administrator_cannot_mail_or_probe_users_of_other_tenants(
        client, app, mailbox, admin, carol, make_user, login, sessions, top_tenant):
    email = email_of(admin, carol)
    other = make_tenant(sessions, top_tenant, 'other')
    make_user('other-admin', 'pw', acl=['auth.users.#'], tenant_uuid=other)
    outsider = AdminClient(client, token_of(login, 'other-admin', 'pw'))

    for path in (f'/users/{carol}/emails/{email["uuid"]}/confirm',
                 f'/users/{carol}/emails/{UNKNOWN}/confirm'):
        assert_error(outsider.get(path), 404, 'unknown-user')

    deliver(app)
    assert mailbox.received == []


def test_a_tenant_administrator_cannot_confirm_addresses_of_other_tenants(
        client, admin, carol, make_user, login, sessions, top_tenant):
    email = email_of(admin, carol)
    other = make_tenant(sessions, top_tenant, 'other')
    make_user('other-admin', 'pw', acl=['#'], tenant_uuid=other)
    outsider = AdminClient(client, token_of(login, 'other-admin', 'pw'))

    assert_error(outsider.put(f'/emails/{email["uuid"]}/confirm'), 404, 'unknown-email')
    page = client.get(f'/0.1/emails/{email["uuid"]}/confirm',
                      query_string={'token': outsider.token})
    assert page.status_code == 404 and page.mimetype == 'text/html'

    assert email_of(admin, carol)['confirmed'] is False
    admin.ok('PUT', f'/emails/{email["uuid"]}/confirm', 204)  # its own tenant tree: as before
    assert email_of(admin, carol)['confirmed'] is True


def test_confirming_an_address_cannot_take_over_a_user_holding_more_than_the_caller(
        client, admin, make_user, login):
    # A confirmed address receives password resets: confirming one is becoming its user.
    boss = make_user('boss', 'pw', email='boss@example.com', email_confirmed=False, acl=['#'])
    clerk = make_user('clerk', 'pw', email='clerk@example.com', email_confirmed=False)
    make_user('helpdesk', 'pw', acl=['auth.#'])
    helpdesk = AdminClient(client, token_of(login, 'helpdesk', 'pw'))
    mine = [{'address': 'helpdesk@evil.example', 'main': True, 'confirmed': True}]

    error = assert_error(helpdesk.put(f'/admin/users/{boss}/emails', json={'emails': mine}),
                         401, 'unauthorized')
    assert error['details']['required_access'] == '#'
    error = assert_error(helpdesk.put(f'/emails/{email_of(admin, boss)["uuid"]}/confirm'),
                         401, 'unauthorized')
    assert error['details']['required_access'] == '#'

    assert email_of(admin, boss) == {**email_of(admin, boss), 'address': 'boss@example.com',
                                     'confirmed': False}
    helpdesk.ok('PUT', f'/emails/{email_of(admin, clerk)["uuid"]}/confirm', 204)
    helpdesk.ok('PUT', f'/admin/users/{clerk}/emails', json={'emails': mine})
    assert email_of(admin, clerk)['confirmed'] is True


def test_adding_an_address_cannot_take_over_a_user_holding_more_than_the_caller(
        client, app, mailbox, admin, make_user, login):
    # The new address would get the confirmation link, then the user's password resets.
    boss = make_user('boss', 'pw', email='boss@example.com', acl=['#'])
    clerk = make_user('clerk', 'pw', email='clerk@example.com')
    make_user('helpdesk', 'pw', acl=['auth.#'])
    helpdesk = AdminClient(client, token_of(login, 'helpdesk', 'pw'))
    mine = [{'address': 'helpdesk@evil.example', 'main': True}]

    error = assert_error(helpdesk.put(f'/users/{boss}/emails', json={'emails': mine}), 401,
                         'unauthorized')

    assert error['details']['required_access'] == '#'
    assert email_of(admin, boss)['address'] == 'boss@example.com'
    kept = [{'address': 'boss@example.com', 'main': True}]  # nothing new: as before
    assert helpdesk.ok('PUT', f'/users/{boss}/emails', json={'emails': kept})[0]['confirmed']
    helpdesk.ok('PUT', f'/users/{clerk}/emails', json={'emails': mine})
    assert email_of(admin, clerk)['address'] == 'helpdesk@evil.example'


def test_without_smtp_a_confirmation_request_is_503(make_config, db_uri, engine, carol,
                                                      make_user):
    make_user('root2', 'pw', acl=['#'])
    with running_app(make_config(db_uri=db_uri), engine) as app:
        client = app.test_client()
        token = client.post('/0.1/token', json={}, headers=basic('root2', 'pw')) \
            .get_json()['data']['token']
        admin = AdminClient(client, token)
        email = email_of(admin, carol)
        response = admin.get(f'/users/{carol}/emails/{email["uuid"]}/confirm')
        assert response.status_code == 503
        assert response.get_json()['error_id'] == 'mail-unavailable'
