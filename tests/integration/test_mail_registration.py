"""Self-registration (admin spec §1.13): off by default; when on, a new tenant and user with an
unconfirmed address, and the confirmation mail; nothing left behind when the mail cannot be
sent."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.support.smtp_server import (deliver, link_in, mail_config, mailbox,  # noqa: F401
                                           path_of)
from wazo_like_auth.config import ConfigError
from wazo_like_auth.models import Tenant, User

REGISTER = '/0.1/users/register'
BODY = {'username': 'newbie', 'password': 'n3wbie', 'firstname': 'New', 'lastname': 'Bie',
        'email_address': 'newbie@example.com'}


@pytest.fixture
def config(mail_config, mailbox):  # noqa: F811
    return mail_config(mailbox.port, registration={'enabled': True})


def counts(sessions) -> tuple[int, int]:
    with sessions() as s:
        return (s.scalar(select(func.count()).select_from(User)),
                s.scalar(select(func.count()).select_from(Tenant)))


def test_registration_is_off_by_default(make_config, db_uri, engine):
    from tests.support.apps import running_app
    with running_app(make_config(db_uri=db_uri), engine) as app:
        response = app.test_client().post(REGISTER, json=BODY)
    assert response.status_code == 404


def test_registration_needs_smtp(make_config, db_uri):
    with pytest.raises(ConfigError, match='registration.enabled'):
        make_config(db_uri=db_uri, registration={'enabled': True})


def test_registered_user_confirms_by_mail_then_logs_in_by_address(client, app, mailbox, login,
                                                                  admin, sessions):
    response = client.post(REGISTER, json=BODY)
    assert response.status_code == 200, response.get_json()
    user = response.get_json()
    assert user['username'] == 'newbie' and user['purpose'] == 'user'
    assert user['authentication_method'] == 'default'
    assert [(e['address'], e['main'], e['confirmed']) for e in user['emails']] == \
        [('newbie@example.com', True, False)]
    tenant = admin.ok('GET', f'/tenants/{user["tenant_uuid"]}')
    assert tenant['name'] == 'newbie' and tenant['parent_uuid'] != tenant['uuid']
    assert login('newbie', 'n3wbie').status_code == 200
    assert login('newbie@example.com', 'n3wbie').status_code == 401

    deliver(app)
    assert mailbox.received[-1][0] == ['newbie@example.com']
    assert client.get(path_of(link_in(mailbox.last()))).status_code == 200
    assert login('newbie@example.com', 'n3wbie').status_code == 200


@pytest.mark.parametrize('taken', ['username', 'email_address'])
def test_a_taken_login_is_409_and_creates_nothing(client, make_user, sessions, taken):
    make_user('newbie' if taken == 'username' else 'other', 'pw',
              email='newbie@example.com' if taken == 'email_address' else None)
    before = counts(sessions)
    response = client.post(REGISTER, json=BODY)
    assert response.status_code == 409
    assert taken in response.get_json()['details']
    assert response.get_json()['resource'] == 'users'
    assert counts(sessions) == before


@pytest.mark.parametrize('body', [{}, {**BODY, 'email_address': 'not-an-address'},
                                  {**BODY, 'username': ''}, {**BODY, 'password': None},
                                  {**BODY, 'email_address': 'a' * 400 + '@example.com'},
                                  {**BODY, 'username': 'x' * 257},
                                  {k: v for k, v in BODY.items() if k != 'username'}])
def test_bad_registration_bodies_are_400(client, sessions, body):
    before = counts(sessions)
    assert client.post(REGISTER, json=body).status_code == 400
    assert counts(sessions) == before


def test_a_refused_confirmation_mail_leaves_nothing_behind(client, app, mailbox, sessions):
    mailbox.refused.add('newbie@example.com')
    before = counts(sessions)
    assert client.post(REGISTER, json=BODY).status_code == 200
    assert counts(sessions) == (before[0] + 1, before[1] + 1)
    deliver(app)
    assert mailbox.received == []
    assert counts(sessions) == before


def test_registrations_are_throttled_per_client(mail_config, mailbox, engine):  # noqa: F811
    from tests.support.apps import running_app
    config = mail_config(mailbox.port, registration={'enabled': True},
                         mail={'requests_per_client': 2})
    with running_app(config, engine) as app:
        client = app.test_client()
        answers = [client.post(REGISTER, json={**BODY, 'username': f'u{i}',
                                               'email_address': f'u{i}@example.com'})
                   for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers['Retry-After']) >= 1


def test_registrations_of_one_ipv6_network_share_the_client_budget(mail_config, mailbox,  # noqa
                                                                   engine):
    from tests.support.apps import running_app
    config = mail_config(mailbox.port, registration={'enabled': True},
                         mail={'requests_per_client': 2})
    with running_app(config, engine) as app:
        client = app.test_client()
        answers = [client.post(REGISTER, json={**BODY, 'username': f'u{i}',
                                               'email_address': f'u{i}@example.com'},
                               environ_base={'REMOTE_ADDR': f'2001:db8::{i + 1:x}'})
                   for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]


def test_a_long_username_names_its_tenant_within_the_tenant_rules(client, admin):
    # A username may hold 256 characters, a tenant name 128 (admin spec §2.2): an
    # administrator must be able to send the registered tenant back as it is.
    username = 'n' * 200
    registered = client.post(REGISTER, json={**BODY, 'username': username})
    assert registered.status_code == 200
    tenant = admin.ok('GET', f'/tenants/{registered.get_json()["tenant_uuid"]}')
    assert tenant['name'] == username[:128]
    admin.ok('PUT', f'/tenants/{tenant["uuid"]}', json={'name': tenant['name']})
