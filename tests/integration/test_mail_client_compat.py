"""What wazo-auth-client sends (wazo_auth_client/commands/users.py; the package is not on PyPI,
so its requests are reproduced exactly with ``requests`` against a served app):
``reset_password(**params)`` GET /users/password/reset, ``set_password(u, password, token)``
POST /users/password/reset?user_uuid=u with {"password"} (the reset token, if given, in
X-Auth-Token, else the client's own token: what ``wazo-auth-cli user password`` does), and
``request_confirmation_email(u, e)``; each expects 204."""
from __future__ import annotations

import pytest
import requests

from tests.support.admin_client import token_of
from tests.support.live_server import LiveServer
from tests.support.smtp_server import (deliver, link_in, mail_config, mailbox,  # noqa: F401
                                           query_of)

HEADERS = {'Accept': 'application/json', 'Content-Type': 'application/json'}


@pytest.fixture
def config(mail_config, mailbox):  # noqa: F811
    return mail_config(mailbox.port)


@pytest.fixture
def users_url(app):
    with LiveServer(app) as server:
        yield f'{server.url}/api/auth/0.1/users'


def client_session(token: str | None = None) -> requests.Session:
    session = requests.Session()
    if token:
        session.headers['X-Auth-Token'] = token  # how the client carries its own token
    return session


def set_password(session, users_url, user_uuid, password, token=None):
    headers = dict(HEADERS)
    if token:
        headers['X-Auth-Token'] = token
    return session.post(f'{users_url}/password/reset', headers=headers,
                        params={'user_uuid': user_uuid}, json={'password': password}, timeout=10)


def test_wazo_auth_cli_user_password_with_an_admin_token(users_url, make_user, login):
    alice = make_user('alice', 's3cret')
    make_user('root', 'r00t', acl=['#'])
    session = client_session(token_of(login, 'root', 'r00t'))
    assert set_password(session, users_url, str(alice), 'from-cli').status_code == 204
    assert login('alice', 'from-cli').status_code == 200


def test_reset_password_then_set_password_with_the_mailed_token(users_url, app, mailbox,
                                                                 make_user, login):
    alice = make_user('alice', 's3cret', email='alice@example.com')
    session = client_session()
    response = session.get(f'{users_url}/password/reset', headers=HEADERS,
                           params={'email': 'alice@example.com'}, timeout=10)
    assert response.status_code == 204
    deliver(app)
    token = query_of(link_in(mailbox.last()))['token']
    assert set_password(session, users_url, str(alice), 'mailed', token).status_code == 204
    assert login('alice', 'mailed').status_code == 200
    refused = set_password(session, users_url, str(alice), 'again', token)
    assert refused.status_code == 401 and refused.json()['error_id'] == 'unauthorized'


def test_request_confirmation_email(users_url, app, mailbox, make_user, login, sessions):
    from sqlalchemy import select

    from wazo_like_auth.models import Email
    user = make_user('bob', 'pw', email='bob@example.com', email_confirmed=False,
                     acl=['auth.users.me.emails.#'])
    with sessions() as s:
        email = s.scalars(select(Email.uuid).where(Email.user_uuid == user)).one()
    session = client_session(token_of(login, 'bob', 'pw'))
    response = session.get(f'{users_url}/{user}/emails/{email}/confirm',
                           headers={'Accept': 'application/json'}, timeout=10)
    assert response.status_code == 204
    deliver(app)
    assert mailbox.received[-1][0] == ['bob@example.com']
