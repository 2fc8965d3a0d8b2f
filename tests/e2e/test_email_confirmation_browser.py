"""E-mail confirmation end to end: a real SMTP server receives the mail sent by the background
sender of a served app, and a person opens its link in headless Chromium (selenium).

Skips only when chromium or chromedriver is missing. Screenshots are saved in a temporary
directory whose path is printed.
"""
from __future__ import annotations

import uuid

import requests
from sqlalchemy import select

from tests.support.mail_browser import browser, mailbox, needs_browser, own_engine, server  # noqa: F401
from tests.support.smtp_server import link_in
from wazo_like_auth import db
from wazo_like_auth.models import Email, Policy, Tenant, User, UserPolicy
from wazo_like_auth.passwords import PasswordHasher

pytestmark = needs_browser


def _make_user(engine, username: str, address: str, acl: list[str]) -> tuple[str, str]:
    with db.make_sessionmaker(engine).begin() as s:
        top = s.scalars(select(Tenant.uuid).where(Tenant.uuid == Tenant.parent_uuid)).one()
        user = User(uuid=uuid.uuid4(), username=username, tenant_uuid=top,
                    password_hash=PasswordHasher(rounds=4).hash('s3cret'))
        email = Email(uuid=uuid.uuid4(), user_uuid=user.uuid, address=address, main=True,
                      confirmed=False)
        policy = Policy(tenant_uuid=top, name=f'p-{username}', slug=f'p-{username}', acl=acl)
        s.add_all([user, policy])
        s.flush()
        s.add_all([email, UserPolicy(user_uuid=user.uuid, policy_uuid=policy.uuid)])
        return str(user.uuid), str(email.uuid)


def _login(server, login: str) -> requests.Response:
    return requests.post(f'{server.url}/api/auth/0.1/token', json={},
                         auth=(login, 's3cret'), timeout=10)


def _confirmation_mailed(server, own_engine, mailbox, name: str) -> tuple[str, str]:
    """User ``name`` with the unconfirmed address name@example.com asks for a confirmation
    mail (it is not a login yet); (the address's uuid, the link the mail carries)."""
    user, email = _make_user(own_engine, name, f'{name}@example.com', ['auth.users.me.emails.#'])
    token = _login(server, name).json()['data']['token']
    assert _login(server, f'{name}@example.com').status_code == 401
    before = len(mailbox.received)
    asked = requests.get(f'{server.url}/api/auth/0.1/users/{user}/emails/{email}/confirm',
                         headers={'X-Auth-Token': token}, timeout=10)
    assert asked.status_code == 204
    # Sent by the background sender.
    return email, link_in(mailbox.wait(before + 1, timeout=15)[-1])


def test_person_confirms_an_address_from_the_mailed_link(server, browser, mailbox, own_engine,
                                                         tmp_path_factory):
    from selenium.webdriver.common.by import By
    screenshots = tmp_path_factory.mktemp('email-confirmation-screenshots')
    print(f'\ne-mail confirmation screenshots: {screenshots}')
    email, link = _confirmation_mailed(server, own_engine, mailbox, 'zoe')
    assert link.startswith(f'{server.url}/api/auth/0.1/emails/{email}/confirm?token=')
    browser.get(link)
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Address confirmed'
    assert browser.find_elements(By.TAG_NAME, 'script') == []
    browser.save_screenshot(str(screenshots / 'confirmed.png'))
    assert _login(server, 'zoe@example.com').status_code == 200

    browser.get(link)  # the link served once
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Link not valid'
    assert 'already used' in browser.find_element(By.TAG_NAME, 'body').text
    browser.save_screenshot(str(screenshots / 'used-link.png'))
    again = requests.get(link, timeout=10)
    assert again.status_code == 401
    assert "default-src 'none'" in again.headers['Content-Security-Policy']
    assert again.headers['X-Frame-Options'] == 'DENY'
    assert again.headers['Referrer-Policy'] == 'no-referrer'


def test_person_opening_a_mangled_link_reads_a_page(server, browser, mailbox, own_engine,
                                                    tmp_path_factory):
    from selenium.webdriver.common.by import By
    screenshots = tmp_path_factory.mktemp('email-confirmation-mangled-screenshots')
    print(f'\nmangled confirmation link screenshots: {screenshots}')
    email, link = _confirmation_mailed(server, own_engine, mailbox, 'yves')
    # A mail client wrapped the long link: the address's uuid lost its last characters.
    mangled = link.replace(f'/emails/{email}/', f'/emails/{email[:-5]}/')
    browser.get(mangled)
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Link not valid'
    assert 'from your mail' in browser.find_element(By.TAG_NAME, 'body').text
    assert browser.find_elements(By.TAG_NAME, 'script') == []
    browser.save_screenshot(str(screenshots / 'mangled-link.png'))
    answer = requests.get(mangled, timeout=10)
    assert answer.status_code == 404 and answer.headers['Content-Type'].startswith('text/html')
    assert _login(server, 'yves@example.com').status_code == 401  # nothing confirmed
    browser.get(link)  # the whole link still works
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Address confirmed'
