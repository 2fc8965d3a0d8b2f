"""Password reset end to end: a real SMTP server receives the reset mail sent by the background
sender of a served app; a person opens its link in headless Chromium (selenium), types a new
password, and then logs in with it through the API.

Skips only when chromium or chromedriver is missing. Screenshots are saved in a temporary
directory whose path is printed.
"""
from __future__ import annotations

import uuid

import requests
from sqlalchemy import select

from tests.support.mail_browser import browser, mailbox, needs_browser, own_engine, server  # noqa: F401
from tests.support.smtp_server import link_in, query_of
from wazo_like_auth import db
from wazo_like_auth.models import Email, Tenant, User
from wazo_like_auth.passwords import PasswordHasher

pytestmark = needs_browser


def _make_user(engine, username: str, address: str) -> str:
    with db.make_sessionmaker(engine).begin() as s:
        top = s.scalars(select(Tenant.uuid).where(Tenant.uuid == Tenant.parent_uuid)).one()
        user = User(uuid=uuid.uuid4(), username=username, tenant_uuid=top,
                    password_hash=PasswordHasher(rounds=4).hash('s3cret'))
        s.add(user)
        s.flush()
        s.add(Email(uuid=uuid.uuid4(), user_uuid=user.uuid, address=address, main=True,
                    confirmed=True))
        return str(user.uuid)


def _login(server, login: str, password: str) -> requests.Response:
    return requests.post(f'{server.url}/api/auth/0.1/token', json={},
                         auth=(login, password), timeout=10)


def test_person_resets_a_password_from_the_mailed_link(server, browser, mailbox, own_engine,
                                                       tmp_path_factory):
    from selenium.webdriver.common.by import By
    screenshots = tmp_path_factory.mktemp('password-reset-screenshots')
    print(f'\npassword reset screenshots: {screenshots}')
    user = _make_user(own_engine, 'yann', 'yann@example.com')
    session = _login(server, 'yann', 's3cret').json()['data']['token']
    asked = requests.get(f'{server.url}/api/auth/0.1/users/password/reset',
                         params={'username': 'yann'}, timeout=10)
    assert asked.status_code == 204

    link = link_in(mailbox.wait(1, timeout=15)[0])  # sent by the background sender
    assert link.startswith(f'{server.url}/api/auth/0.1/users/password/reset/page?')
    assert query_of(link)['user_uuid'] == user
    browser.get(link)
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Choose a new password'
    assert browser.find_elements(By.TAG_NAME, 'script') == []
    browser.save_screenshot(str(screenshots / 'form.png'))

    _fill(browser, 'n3w-s3cret', 'n3w-s3creT')  # a typo in the confirmation
    assert 'not the same' in browser.find_element(By.ID, 'message').text
    browser.save_screenshot(str(screenshots / 'mismatch.png'))
    _fill(browser, 'n3w-s3cret', 'n3w-s3cret')
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Password changed'
    browser.save_screenshot(str(screenshots / 'changed.png'))

    assert _login(server, 'yann', 's3cret').status_code == 401
    assert _login(server, 'yann', 'n3w-s3cret').status_code == 200
    assert requests.get(f'{server.url}/api/auth/0.1/token/{session}',
                        timeout=10).status_code == 404
    browser.get(link)  # the link served once
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Link not valid'
    browser.save_screenshot(str(screenshots / 'used-link.png'))


def test_only_the_newest_reset_mail_opens_the_form(server, browser, mailbox, own_engine,
                                                   tmp_path_factory):
    from selenium.webdriver.common.by import By
    screenshots = tmp_path_factory.mktemp('password-reset-newest-screenshots')
    print(f'\nnewest reset link screenshots: {screenshots}')
    _make_user(own_engine, 'xena', 'xena@example.com')
    links = []
    for _ in range(2):  # the person asks twice, e.g. not seeing the first mail arrive
        before = len(mailbox.received)
        assert requests.get(f'{server.url}/api/auth/0.1/users/password/reset',
                            params={'username': 'xena'}, timeout=10).status_code == 204
        links.append(link_in(mailbox.wait(before + 1, timeout=15)[-1]))
    older, newer = links
    browser.get(older)
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Link not valid'
    assert 'replaced by a newer one' in browser.find_element(By.TAG_NAME, 'body').text
    assert browser.find_elements(By.TAG_NAME, 'form') == []
    browser.save_screenshot(str(screenshots / 'older-link.png'))
    browser.get(newer)
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Choose a new password'
    _fill(browser, 'x3na-new', 'x3na-new')
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Password changed'
    assert _login(server, 'xena', 'x3na-new').status_code == 200


def _fill(browser, password: str, confirmation: str) -> None:
    """Type into the labelled fields, as a person would, submit, and wait for the answer."""
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait
    for label, value in (('New password', password), ('Confirm the new password',
                                                      confirmation)):
        field_id = browser.find_element(
            By.XPATH, f'//label[text()="{label}"]').get_attribute('for')
        field = browser.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)
    # A mark on the current page's window: gone once the answer page has replaced it. (Waiting
    # for the old <html> element to go stale raced with Chromium, which answers "node does not
    # belong to the document" during the navigation instead of "stale element".)
    browser.execute_script('window.beforeSubmit = true')
    browser.find_element(By.ID, 'change').click()
    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script(
            'return window.beforeSubmit === undefined && document.readyState === "complete"'))
