"""The page a mailed password-reset link opens, followed with the HTTP client (cookies kept) from
mail delivered to a real SMTP server; the browser test is
tests/e2e/test_password_reset_browser.py."""
from __future__ import annotations

import logging
import re
import uuid

import pytest
from sqlalchemy import text

from tests.support.admin_client import token_of
from tests.support.apps import running_app
from tests.support.smtp_server import (api_of, deliver, link_in, mail_config,  # noqa: F401
                                           mailbox, path_of, query_of)

RESET = '/0.1/users/password/reset'
PAGE = '/api/auth/0.1/users/password/reset/page'


@pytest.fixture
def config(mail_config, mailbox):  # noqa: F811
    return mail_config(mailbox.port)


@pytest.fixture
def alice(make_user):
    return make_user('alice', 's3cret', email='alice@example.com')


@pytest.fixture
def link(client, app, mailbox, alice) -> str:  # noqa: F811
    """The reset link mailed to alice."""
    assert client.get(RESET, query_string={'username': 'alice'}).status_code == 204
    deliver(app)
    return link_in(mailbox.wait(1)[-1])


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f'no {name} field in the page'
    return found.group(1)


def submit(client, page, password: str, confirmation: str | None = None, **changes):
    """Fill and send the form of ``page`` as a browser would."""
    action = re.search(r'<form method="post" action="([^"]*)"', page.text).group(1)
    form = {name: hidden(page.text, name) for name in ('csrf', 'user_uuid', 'token')}
    form.update(password=password,
                confirmation=password if confirmation is None else confirmation, **changes)
    return client.post(action, data=form)


def assert_invalid_link_page(response) -> None:
    assert response.status_code == 401 and response.mimetype == 'text/html'
    assert '<h1>Link not valid</h1>' in response.text and '<form' not in response.text
    assert 'Ask for a new password-reset mail' in response.text


def test_the_mailed_link_opens_the_page_under_both_prefixes(client, link):
    assert link.startswith('https://auth.example.com' + PAGE + '?user_uuid=')
    for path in (path_of(link), path_of(link).removeprefix('/api/auth')):
        page = client.get(path)
        assert page.status_code == 200 and page.mimetype == 'text/html'
        assert '<label for="password">New password</label>' in page.text
        assert '<label for="confirmation">Confirm the new password</label>' in page.text
        assert 'autocomplete="new-password"' in page.text and '<script' not in page.text
        # The POST goes to the same path, the token in its body rather than its URL.
        assert f'action="{path.split("?")[0]}"' in page.text
        assert hidden(page.text, 'token') == query_of(link)['token']


def test_the_page_sets_the_security_headers(client, link):
    page = client.get(path_of(link))
    csp = page.headers['Content-Security-Policy']
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp and 'script-src' not in csp
    assert page.headers['X-Frame-Options'] == 'DENY'
    assert page.headers['Cache-Control'] == 'no-store'
    assert page.headers['Referrer-Policy'] == 'no-referrer'
    assert page.headers['X-Content-Type-Options'] == 'nosniff'
    cookie = page.headers['Set-Cookie']
    assert cookie.startswith('wazo_like_auth_reset_csrf=')
    assert 'HttpOnly' in cookie and 'SameSite=Lax' in cookie
    invalid = client.get(PAGE, query_string={'user_uuid': str(uuid.uuid4()), 'token': 'x'})
    assert invalid.headers['Referrer-Policy'] == 'no-referrer'
    assert invalid.headers['Cache-Control'] == 'no-store'
    assert "form-action 'none'" in invalid.headers['Content-Security-Policy']


def test_submitting_the_form_resets_the_password_and_ends_every_session(
        client, link, login, caplog):
    caplog.set_level(logging.DEBUG)
    session_token = token_of(login, 'alice')

    done = submit(client, client.get(path_of(link)), 'n3w-pass')

    assert done.status_code == 200 and '<h1>Password changed</h1>' in done.text
    assert done.headers['Cache-Control'] == 'no-store'
    assert login('alice', 's3cret').status_code == 401
    assert login('alice', 'n3w-pass').status_code == 200
    assert client.get(f'/0.1/token/{session_token}').status_code == 404
    token = query_of(link)['token']
    assert all(token not in repr(vars(record)) for record in caplog.records)
    assert_invalid_link_page(client.get(path_of(link)))  # the link served once
    assert client.post(api_of(link), json={'password': 'x'}).status_code == 401


def test_a_form_submitted_twice_changes_the_password_once(client, link, login):
    page = client.get(path_of(link))
    assert submit(client, page, 'first-pass').status_code == 200

    assert_invalid_link_page(submit(client, page, 'second-pass'))
    assert login('alice', 'first-pass').status_code == 200


def test_every_unusable_link_gets_the_same_page(client, app, link, alice, make_user, login,
                                                engine, admin):
    bob = make_user('bob', 'b0b', email='bob@example.com')
    token = query_of(link)['token']
    own_access_token = token_of(login, 'alice')
    tampered = token[:-1] + ('A' if token[-1] != 'A' else 'B')
    queries = [{'user_uuid': str(alice), 'token': tampered},
               {'user_uuid': str(alice), 'token': token[:20]},
               {'user_uuid': str(alice), 'token': token + 'x'},
               {'user_uuid': str(alice)}, {'token': token}, {},
               {'user_uuid': 'not-a-uuid', 'token': token},
               {'user_uuid': str(uuid.uuid4()), 'token': token},
               {'user_uuid': str(bob), 'token': token},  # another user's link
               {'user_uuid': str(alice), 'token': own_access_token}]
    answers = [client.get(PAGE, query_string=query) for query in queries]
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_mail_token SET expires_at = now() - interval '1 s'"))
    answers.append(client.get(path_of(link)))  # expired
    for answer in answers:
        assert_invalid_link_page(answer)
    assert len({(a.status_code, a.get_data(),
                 frozenset(a.headers.keys()) - {'Date', 'X-Request-Id'}) for a in answers}) == 1
    assert login('alice', 's3cret').status_code == 200 and login('bob', 'b0b').status_code == 200


def test_a_newer_reset_mail_voids_the_page_of_the_older_link(client, app, mailbox, link,
                                                             alice, login):
    assert client.get(RESET, query_string={'username': 'alice'}).status_code == 204
    deliver(app)
    newer = link_in(mailbox.wait(2)[-1])
    older_page = client.get(path_of(link))
    assert_invalid_link_page(older_page)
    assert 'replaced by a newer one' in older_page.text  # what happened to it, said on the page
    assert client.get(path_of(newer)).status_code == 200
    assert submit(client, client.get(path_of(newer)), 'n3w-pass').status_code == 200
    assert login('alice', 'n3w-pass').status_code == 200


def test_changing_the_password_another_way_voids_the_page(client, link, alice, admin, login):
    page = client.get(path_of(link))
    admin.ok('PUT', f'/users/{alice}/password', 204,
             json={'old_password': 's3cret', 'new_password': 'changed'})

    assert_invalid_link_page(client.get(path_of(link)))
    assert_invalid_link_page(submit(client, page, 'n3w-pass'))
    assert login('alice', 'changed').status_code == 200


def test_a_form_without_the_browser_cookie_or_with_a_forged_csrf_is_refused(app, client,
                                                                            link, login):
    page = client.get(path_of(link))
    other_browser = app.test_client()  # has not the cookie the page set
    refused = [submit(other_browser, page, 'stolen-1'),
               submit(client, page, 'stolen-2', csrf='0' * 64),
               submit(client, page, 'stolen-3', csrf='')]
    for answer in refused:
        assert answer.status_code == 400 and '<h1>Form expired</h1>' in answer.text
        assert answer.headers['X-Frame-Options'] == 'DENY'
    assert login('alice', 's3cret').status_code == 200
    assert submit(client, page, 'n3w-pass').status_code == 200  # the link is still usable


def test_the_form_of_another_token_is_not_valid_for_this_one(client, link, alice, login):
    page = client.get(path_of(link))
    answer = submit(client, page, 'n3w-pass', token=query_of(link)['token'][::-1])
    assert_invalid_link_page(answer)
    assert login('alice', 's3cret').status_code == 200


@pytest.mark.parametrize('password, confirmation, message', [
    ('n3w-pass', 'n3w-pasS', 'The two passwords are not the same'),
    ('', '', 'Type a new password'),
    ('é' * 37, None, 'at most 72 bytes'),  # 74 bytes in UTF-8
    ('x' * 73, None, 'at most 72 bytes'),
    ('nul\x00byte', None, 'cannot be used'),
])
def test_a_refused_password_shows_the_form_again_with_the_reason(client, link, login,
                                                                 password, confirmation,
                                                                 message):
    answer = submit(client, client.get(path_of(link)), password, confirmation)

    assert answer.status_code == 400
    assert re.search(rf'<p class="message" id="message" role="alert">[^<]*{message}',
                     answer.text)
    assert 'aria-invalid="true"' in answer.text and hidden(answer.text, 'csrf')
    assert login('alice', 's3cret').status_code == 200  # nothing changed
    assert submit(client, answer, 'é' * 36).status_code == 200  # 72 bytes: accepted
    assert login('alice', 'é' * 36).status_code == 200


def test_an_operator_front_end_gets_the_mailed_link_instead(mail_config, mailbox,  # noqa: F811
                                                             engine, alice, login):
    config = mail_config(mailbox.port, mail={
        'password_reset_link': 'https://front.example.com/reset?u={user_uuid}&t={token}'})
    with running_app(config, engine) as app:
        client = app.test_client()
        assert client.get(RESET, query_string={'username': 'alice'}).status_code == 204
        deliver(app)
        link = link_in(mailbox.wait(1)[-1])
        assert link.startswith(f'https://front.example.com/reset?u={alice}&t=')
        token = query_of(link)['t']
        assert client.post(RESET, query_string={'user_uuid': str(alice), 'token': token},
                           json={'password': 'fr0nt-end'}).status_code == 204
    assert login('alice', 'fr0nt-end').status_code == 200
