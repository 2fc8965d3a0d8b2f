"""Defects found by the review of Unicode in identities and credentials (logins, addresses,
passwords, path segments): each test is what a user saw before its fix."""
from __future__ import annotations

import pytest

from tests.support.smtp_server import deliver, mail_config, mailbox  # noqa: F401

RESET = '/0.1/users/password/reset'


@pytest.fixture
def config(mail_config, mailbox):  # noqa: F811
    return mail_config(mailbox.port)


@pytest.mark.parametrize('username, typed', [('Élise', 'élise'), ('Ärger', 'ärger'),
                                             ('ΟΔΟΣ', 'οδος'), ('İpek', 'i̇pek')])
def test_a_username_with_non_ascii_capitals_logs_in_in_lower_case(
        login, make_user, username, typed):
    # The uniqueness rule lowers logins as Python does ('élise' is taken by 'Élise'), but the
    # lookup lowered only the typed side: a C-locale lower() keeps 'É', so 'élise' named
    # nobody and the owner of 'Élise' could log in only with the capital.
    make_user(username, 's3cret')
    assert login(typed, 's3cret').status_code == 200


def test_a_confirmed_address_with_non_ascii_capitals_is_a_login_in_lower_case(
        client, app, login, make_user, mailbox):  # noqa: F811
    make_user('elise', 's3cret', email='Élise@example.com')
    assert login('élise@example.com', 's3cret').status_code == 200
    before = len(mailbox.received)
    assert client.get(RESET, query_string={'email': 'élise@example.com'}).status_code == 204
    deliver(app)
    assert len(mailbox.wait(before + 1)) == before + 1


def test_a_unicode_lowered_login_names_the_user_python_lowers_it_to(login, make_user):
    # 'ΟΔΟΣ' lowers to 'οδος' (final sigma), 'οδοσ' stays itself: two logins, and 'οδος'
    # is the first one's, never the second's.
    make_user('ΟΔΟΣ', 'upper-pw')
    make_user('οδοσ', 'lower-pw')
    assert login('οδος', 'upper-pw').status_code == 200
    assert login('οδος', 'lower-pw').status_code == 401
