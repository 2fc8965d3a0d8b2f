"""Edges of self-service and user administration: userinfo of an unconfirmed address, refused
password changes and the throttle, logins equal once lowered."""
from __future__ import annotations

from tests.integration.test_security_review_throttles import throttled_app  # noqa: F401
from tests.support.admin_client import AdminClient, token_of
from tests.support.credentials import basic
from tests.support.offline_access import assert_error

ADDRESS = '203.0.113.9'


def _login(app, address, login, password):
    return app.test_client().post('/0.1/token', json={}, headers=basic(login, password),
                                  environ_base={'REMOTE_ADDR': address})


def _change(app, address, token, user, old, new):
    return app.test_client().put(f'/0.1/users/{user}/password', headers={'X-Auth-Token': token},
                                 json={'old_password': old, 'new_password': new},
                                 environ_base={'REMOTE_ADDR': address})


def test_refused_over_long_new_passwords_do_not_stay_counted_as_checks_in_flight(
        throttled_app, make_user):
    """A password change refused with 400 password-too-long is over: it must not keep
    counting as a password check in flight of that user (each one did, for a minute), else
    a few such answers lock the user's own correct logins out with 429."""
    alice = make_user('alice', acl=['auth.users.me.password.update'])
    app = throttled_app(logins_in_flight=2)
    token = _login(app, ADDRESS, 'alice', 's3cret').get_json()['data']['token']
    for _ in range(2):
        refused = _change(app, ADDRESS, token, alice, 's3cret', 'x' * 73)
        assert refused.status_code == 400
        assert refused.get_json()['error_id'] == 'password-too-long'

    assert _login(app, ADDRESS, 'alice', 's3cret').status_code == 200
    assert _change(app, ADDRESS, token, alice, 's3cret', 'x' * 73).status_code == 400


def test_userinfo_does_not_assert_an_unconfirmed_address_the_user_typed_in(client, login,
                                                                            make_user):
    """A user may put any address in its list and make it main (``auth.users.me.emails.update``,
    e.g. the README's ``auth.users.me.#``) but not confirm it: /oauth2/userinfo, the
    discovery's ``userinfo_endpoint``, must not then hand relying parties that address as the
    user's ``email`` with nothing saying it is unverified (OIDC Core §5.1 ``email_verified``;
    the OpenID-scoped userinfo and ID tokens do say ``email_verified: false``)."""
    me = make_user('alice', email='alice@example.com', acl=['auth.users.me.emails.update'])
    token = token_of(login, 'alice')
    alice = AdminClient(client, token)
    alice.ok('PUT', f'/users/{me}/emails', json={'emails': [
        {'address': 'boss@example.com', 'main': True},
        {'address': 'alice@example.com', 'main': False}]})

    claims = client.get('/0.1/oauth2/userinfo',
                        headers={'Authorization': f'Bearer {token}'}).get_json()

    assert claims['sub'] == str(me)
    assert claims['email'] == 'boss@example.com' and claims['email_verified'] is False


def test_logins_equal_once_lowered_by_python_are_one_login_whatever_their_length(admin):
    """Logins are unique case-insensitively, Unicode letters included (users.login_taken):
    'İnci'.lower() == 'i̇nci'. The LIKE prefilter assumes lowering keeps the length, so a
    login whose lowered form is longer (U+0130 lowers to two characters) is never compared."""
    assert admin.post('/users', json={'username': 'İnci'}).status_code == 200

    response = admin.post('/users', json={'username': 'i\u0307nci'})

    assert_error(response, 409, 'conflict')
