"""Both verifier modes give the same answer for the same real token and the same required
access: ``required_acl`` of ``JwtVerifier`` (offline, the token's claims) and of
``TokenVerifier`` (online, the service's check), over a table of ACLs with ``*`` and ``#``,
``me`` (the subject), ``my_session`` (the session) and deny entries (``!``) from the user's
policy or the client's ACL."""
from __future__ import annotations

import uuid

import flask
import pytest
from authlib.integrations.requests_client import OAuth2Session

from tests.support.jwt_access import register_jwt_client, unverified_claims
from tests.support.jwt_verifier import (auth_server, client_credentials, issuer,  # noqa: F401
                                        make_verifier, mono)
from wazo_like_auth.verifier import TokenVerifier

OTHER = str(uuid.uuid4())
USER_ACL = ['confd.users.me.read', 'confd.users.me.settings.#',
            '!confd.users.me.settings.secret.#', 'calld.*.read', 'auth.sessions.my_session.delete',
            'webhookd.#', '!webhookd.admin.#']
CLIENT_ACL = ['confd.users.*.read', '!confd.users.root.read', 'confd.users.me.settings.read']


def guarded(verifier, templates: list[str]) -> flask.Flask:
    """A backend with one route per required-access template: ``/<index>/<arg>``."""
    app = flask.Flask(__name__)
    for index, template in enumerate(templates):
        app.add_url_rule(f'/{index}/<arg>', endpoint=f'route{index}',
                         view_func=verifier.required_acl(template)(lambda arg: {'arg': arg}))
    return app


def answers(verifiers: dict, token: str, table: list[tuple[str, str, int]]) -> dict:
    """{(template, arg): {mode: status}} for each row of ``table``."""
    templates = sorted({template for template, _, _ in table})
    backends = {mode: guarded(v, templates).test_client() for mode, v in verifiers.items()}
    return {(template, arg): {mode: backend.get(f'/{templates.index(template)}/{arg}',
                                                headers={'X-Auth-Token': token}).status_code
                              for mode, backend in backends.items()}
            for template, arg, _ in table}


def expected(verifiers: dict, table: list[tuple[str, str, int]]) -> dict:
    return {(template, arg): {mode: status for mode in verifiers}
            for template, arg, status in table}


@pytest.fixture
def verifiers(make_verifier, issuer) -> dict:
    """The two modes, for the global issuer and its default audience; online without cache."""
    return {'offline': make_verifier(audience=issuer),
            'online': TokenVerifier(issuer, cache_ttl=0)}


def test_a_users_token_gets_the_same_answers_online_and_offline(verifiers, api, admin_token,
                                                                make_user):
    user = str(make_user('dana', 's3cret', acl=USER_ACL))
    client = register_jwt_client(api, admin_token, 'webapp', grant_types=['password'])
    token = OAuth2Session('webapp', client['client_secret']).fetch_token(
        api.token_url(), username='dana', password='s3cret')['access_token']
    session = unverified_claims(token)['session_uuid']
    table = [
        ('confd.users.{arg}.read', user, 200),                  # me: the subject
        ('confd.users.{arg}.read', 'me', 200),                  # me, literally
        ('confd.users.{arg}.read', OTHER, 403),
        ('confd.users.{arg}.settings.read', user, 200),
        ('confd.users.{arg}.settings.secret.read', user, 403),  # the deny entry wins
        ('confd.users.{arg}.settings.secret.read', 'me', 403),
        ('calld.{arg}.read', 'calls', 200),                     # *: one word
        ('calld.calls.{arg}.read', 'all', 403),                 # ...not two
        ('auth.sessions.{arg}.delete', session, 200),           # my_session: the session
        ('auth.sessions.{arg}.delete', OTHER, 403),
        ('webhookd.{arg}.read', 'hooks', 200),
        ('webhookd.admin.{arg}', 'read', 403),
        ('auth.users.{arg}.read', user, 403),
    ]
    assert answers(verifiers, token, table) == expected(verifiers, table)


def test_a_clients_token_gets_the_same_answers_online_and_offline(verifiers, api,
                                                                  admin_token):
    client = register_jwt_client(api, admin_token, 'billing', acl=CLIENT_ACL)
    token = client_credentials(api, 'billing', client['client_secret'])
    table = [
        ('confd.users.{arg}.read', OTHER, 200),
        ('confd.users.{arg}.read', 'root', 403),                # the deny entry wins
        ('confd.users.{arg}.settings.read', 'billing', 200),    # me: the client id
        ('confd.users.{arg}.settings.read', OTHER, 403),
        ('confd.users.{arg}.delete', OTHER, 403),
    ]
    assert answers(verifiers, token, table) == expected(verifiers, table)


def test_wildcards_and_me_in_a_path_value_are_literal_in_both_modes(verifiers, api, admin_token,
                                                                     make_user):
    # A caller choosing the path value must not widen the required access with it.
    user = str(make_user('dana', 's3cret', acl=['confd.users.me.read', 'calld.*.read',
                                                 'webhookd.#']))
    client = register_jwt_client(api, admin_token, 'webapp', grant_types=['password'])
    token = OAuth2Session('webapp', client['client_secret']).fetch_token(
        api.token_url(), username='dana', password='s3cret')['access_token']
    table = [
        ('confd.users.{arg}.read', '*', 403),
        ('confd.users.{arg}.read', '%23', 403),                 # '#' in the path value
        ('confd.users.{arg}.read', 'me', 200),
        ('confd.users.{arg}.read', 'ME', 403),
        ('confd.users.{arg}.read', user.upper(), 403),
        ('confd.users.{arg}.read', 'me*', 403),
        ('calld.{arg}.read', '*', 200),
        ('calld.{arg}.read', '%23', 403),
        ('calld.{arg}.read', '!x', 200),
        ('webhookd.{arg}.read', '%23', 200),
        ('confd.{arg}', '*', 403),
        ('confd.{arg}', '%23', 403),
    ]
    assert answers(verifiers, token, table) == expected(verifiers, table)
