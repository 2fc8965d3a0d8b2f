"""Review of the browser pages (round 7): what a browser gets when a race or an odd request
meets the sign-in, consent and logout pages. Real HTTP through requests, the real forms."""
from __future__ import annotations

import threading

import requests
from sqlalchemy import text

from tests.integration.test_review_oidc import _authorize
from tests.support.oidc import callback_params, realm, register_client, submit  # noqa: F401
from tests.support.polling import wait_until


def _waiting_for_a_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar())


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
        assert wait_until(lambda: not asking.is_alive() or _waiting_for_a_lock(engine))
        deleting.commit()
    asking.join(timeout=30)

    answer = answers[0]
    assert answer.headers['Content-Type'].startswith('text/html'), answer.text[:300]
    assert answer.status_code >= 400 and 'Location' not in answer.headers
    assert answer.headers['X-Frame-Options'] == 'DENY'
    assert answer.headers['Cache-Control'] == 'no-store'
