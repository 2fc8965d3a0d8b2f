"""Review of the browser pages (round 7): what a browser gets when a race or an odd request
meets the sign-in, consent and logout pages. Real HTTP through requests, the real forms."""
from __future__ import annotations

import threading

import requests
from sqlalchemy import text

from tests.integration.test_admin_races import waiting_on_locks
from tests.integration.test_review_oidc import _authorize
from tests.support.oidc import callback_params, realm, register_client, submit  # noqa: F401
from tests.support.polling import wait_until


def test_a_client_deleted_while_its_code_is_issued_answers_a_readable_page(
        api, admin_token, make_user, realm, engine):
    """The application is deleted while a signed-in browser's authorization request is being
    answered (its code row waits for the delete, then finds the client gone): the browser gets
    the readable error page with the pages' headers, not the API's JSON 404 envelope (which
    only an unknown realm answers)."""
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'])
    browser = requests.Session()
    page = browser.get(_authorize(api), timeout=10, allow_redirects=False)
    callback_params(submit(browser, page, username='alice', password='s3cret'))
    answers = []
    with engine.connect() as deleting:  # the administrator's delete, not yet committed
        deleting.execute(text('DELETE FROM auth_client WHERE uuid = :u'), {'u': client['uuid']})
        asking = threading.Thread(target=lambda: answers.append(
            browser.get(_authorize(api), timeout=30, allow_redirects=False)))
        asking.start()
        assert wait_until(lambda: not asking.is_alive() or waiting_on_locks(engine, 1))
        deleting.commit()
    asking.join(timeout=30)

    answer = answers[0]
    assert answer.headers['Content-Type'].startswith('text/html'), answer.text[:300]
    assert answer.status_code >= 400 and 'Location' not in answer.headers
    assert answer.headers['X-Frame-Options'] == 'DENY'
    assert answer.headers['Cache-Control'] == 'no-store'


def test_consents_approved_in_two_tabs_at_once_are_both_remembered(
        api, admin_token, make_user, realm, engine):
    """Alice, who once let the application know who she is, is asked for her e-mail in one
    tab and for her profile in another, and allows both at the same moment: both scopes are
    remembered. Each answer read the scopes granted so far and wrote them back with its own,
    so the later write dropped the other's scope (she was asked again for it)."""
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'], require_consent=True)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO auth_consent (user_uuid, client_uuid, scope) "
                          "VALUES (:u, :c, '{openid}')"), {'u': alice, 'c': client['uuid']})
    browser = requests.Session()
    page = browser.get(_authorize(api, scope='openid email'), timeout=10,
                       allow_redirects=False)
    email_tab = submit(browser, page, username='alice', password='s3cret')
    profile_tab = browser.get(_authorize(api, scope='openid profile'), timeout=10,
                              allow_redirects=False)
    assert 'Allow access?' in email_tab.text and 'Allow access?' in profile_tab.text
    answers = []
    with engine.connect() as holding:  # both answers read the consent, then wait to write
        holding.execute(text('SELECT 1 FROM auth_consent WHERE user_uuid = :u FOR UPDATE'),
                        {'u': alice})
        tabs = [threading.Thread(target=lambda tab=tab: answers.append(
            submit(browser, tab, button='approve'))) for tab in (email_tab, profile_tab)]
        for tab in tabs:
            tab.start()
        assert wait_until(lambda: waiting_on_locks(engine, 2) or
                          not any(tab.is_alive() for tab in tabs))
        holding.rollback()
    for tab in tabs:
        tab.join(timeout=30)

    assert [callback_params(answer)['code'] != '' for answer in answers] == [True, True]
    with engine.connect() as conn:
        granted = conn.execute(text('SELECT scope FROM auth_consent WHERE user_uuid = :u'),
                               {'u': alice}).scalar()
    assert sorted(granted) == ['email', 'openid', 'profile']
