"""Edges of the mail flows: confirmations holding one database connection, the pool the mail
sender needs, a quoted local part, a registration confirmed while its mail is refused."""
from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text

from tests.support.credentials import basic
from tests.support.polling import wait_until
from tests.support.smtp_server import deliver, mail_config, mailbox  # noqa: F401
from wazo_like_auth.app import create_app, services_of, shutdown
from wazo_like_auth.config import ConfigError

RESET = '/0.1/users/password/reset'


@pytest.fixture
def config(mail_config, mailbox):  # noqa: F811
    return mail_config(mailbox.port, registration={'enabled': True})


def test_confirming_by_access_token_holds_one_database_connection_at_a_time(
        mail_config, mailbox, make_user):  # noqa: F811
    # PUT /emails/{e}/confirm keeps its transaction's connection while the access token is
    # looked up on a second one: with every other connection of the pool busy (here the test
    # holds one of two; in production db_pool_size concurrent requests with any UUID as token,
    # no account needed), each request waits for a connection it is itself keeping from the
    # others, and the worker answers 503 for db_connect_timeout. Any other request needs one.
    carol = make_user('carol', 'pw', email='carol@example.com', email_confirmed=False)
    make_user('root-admin', acl=['#'])
    app = create_app(mail_config(mailbox.port, db_pool_size=2, db_connect_timeout=1,
                                 token_cleanup_interval=0))
    try:
        client = app.test_client()
        admin = client.post('/0.1/token', json={}, headers=basic('root-admin', 's3cret'))
        admin = admin.get_json()['data']['token']
        [email] = client.get(f'/0.1/users/{carol}', headers={'X-Auth-Token': admin}) \
            .get_json()['emails']
        confirm = f'/0.1/emails/{email["uuid"]}/confirm'
        with services_of(app).engine.connect():  # another request's connection
            assert client.post('/0.1/token', json={},
                               headers=basic('carol', 'pw')).status_code == 200
            anonymous = client.put(confirm, headers={'X-Auth-Token': str(uuid.uuid4())})
            by_admin = client.put(confirm, headers={'X-Auth-Token': admin})
        assert anonymous.status_code == 401, anonymous.get_json()
        assert by_admin.status_code == 204, by_admin.get_json()
    finally:
        shutdown(app)



def test_a_pool_too_small_for_the_mail_sender_is_refused_naming_db_pool_size(mail_config,  # noqa
                                                                            mailbox):
    # The mail sender keeps one connection for its advisory lock and needs a second one for
    # the outbox: with db_pool_size 1 every cycle waited db_connect_timeout for itself and
    # failed, no mail ever left (and the worker's requests found no connection meanwhile).
    quiet = {'token_cleanup_interval': 0}  # the purge counted apart (test_session_edges)
    with pytest.raises(ConfigError, match='db_pool_size: must be at least 2 with smtp.host'):
        mail_config(mailbox.port, db_pool_size=1, **quiet)
    with pytest.raises(ConfigError, match='at least 3 with amqp.enabled and smtp.host'):
        mail_config(mailbox.port, db_pool_size=2, amqp={'enabled': True}, **quiet)
    assert mail_config(mailbox.port, db_pool_size=3, amqp={'enabled': True},
                       **quiet)['db_pool_size'] == 3
    with pytest.raises(ConfigError, match='at least 4 with amqp.enabled and smtp.host and '
                                          'token_cleanup_interval'):
        mail_config(mailbox.port, db_pool_size=3, amqp={'enabled': True})


def test_a_quoted_local_part_is_mailed_to_its_own_mailbox(client, app, mailbox):  # noqa: F811
    # "john.smith"@example.com is a valid address (validate.Email accepts it, it is stored as
    # typed) and names the mailbox john.smith@example.com. The composer hands the quoted local
    # part to headerregistry.Address as a bare username, which quotes it again: the mail goes
    # to "\"john.smith\""@example.com, another mailbox (a real relay answers 550, and the
    # registration is undone).
    response = client.post('/0.1/users/register', json={
        'username': 'john', 'password': 'pw', 'email_address': '"john.smith"@example.com'})
    assert response.status_code == 200, response.get_json()
    deliver(app)
    [(recipients, _, message)] = mailbox.received
    assert recipients[0] in ('"john.smith"@example.com', 'john.smith@example.com')


def test_a_registration_confirmed_while_its_mail_is_refused_is_kept(client, app, mailbox,  # noqa
                                                                     engine):
    # forget (the mail sender's rejection hook) counts the user's confirmed addresses without
    # locking the user, then deletes it. An administrator confirming the address at that
    # moment (PUT /admin/users/{u}/emails locks the user, then confirms) commits between the
    # two: the user, its now confirmed address and its tenant are deleted anyway, against
    # "deleted (unless the address was confirmed meanwhile)".
    mailbox.refused.add('newbie@example.com')
    registered = client.post('/0.1/users/register', json={
        'username': 'newbie', 'password': 'pw', 'email_address': 'newbie@example.com'})
    assert registered.status_code == 200
    user_uuid = registered.get_json()['uuid']
    failures = []

    def sender():
        try:
            deliver(app)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            failures.append(e)

    with engine.connect() as admin_tx:  # an administrator's confirmation, in progress
        admin_tx.execute(text('SELECT 1 FROM auth_user WHERE uuid = :u FOR UPDATE'),
                         {'u': user_uuid})
        admin_tx.execute(text('UPDATE auth_email SET confirmed = true WHERE user_uuid = :u'),
                         {'u': user_uuid})
        thread = threading.Thread(target=sender)
        thread.start()
        assert wait_until(lambda: _waiting_on_a_lock(engine) > 0, 10)
        admin_tx.commit()
    thread.join(20)
    assert failures == []
    with engine.connect() as conn:
        kept = conn.execute(text('SELECT count(*) FROM auth_email WHERE user_uuid = :u '
                                 'AND confirmed'), {'u': user_uuid}).scalar()
    assert kept == 1, 'the user and its confirmed address were deleted'


def _waiting_on_a_lock(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity "
                                 "WHERE wait_event_type = 'Lock'")).scalar()
