"""What the headless-browser tests share (Debian's chromium and chromedriver, driven by
selenium): whether they can run, a PostgreSQL of the module's own, the browser, a user, and
reading a page once it shows what is expected."""
from __future__ import annotations

import shutil
import uuid

import pytest
from sqlalchemy import create_engine, select

from tests.support.postgres import Postgresql
from wazo_like_auth import db
from wazo_like_auth.models import Policy, Tenant, User, UserPolicy
from wazo_like_auth.passwords import PasswordHasher

CHROMIUM, CHROMEDRIVER = shutil.which('chromium'), shutil.which('chromedriver')
needs_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason='chromium or chromedriver not installed (run .ci/install-browser)')


@pytest.fixture(scope='module')
def own_engine():
    """A PostgreSQL of this module's own: the shared one of tests/e2e/conftest.py is not
    emptied between tests, and a browser test module leaves users and clients behind."""
    with Postgresql() as pg:
        engine = create_engine(db.url(pg.url()))
        db.upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    options = Options()
    options.binary_location = CHROMIUM
    # Running as root in a container needs --no-sandbox; the rest keeps chromium quiet,
    # offline and independent of any profile.
    for argument in ('--headless=new', '--no-sandbox', '--disable-gpu',
                     '--disable-dev-shm-usage', '--disable-background-networking',
                     '--disable-component-update', '--disable-sync', '--no-first-run',
                     '--window-size=420,860',
                     f'--user-data-dir={tmp_path_factory.mktemp("chromium-profile")}'):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def make_top_user(engine, username: str, password: str, acl: list[str]) -> None:
    sessions = db.make_sessionmaker(engine)
    with sessions.begin() as s:
        top = s.scalars(select(Tenant.uuid).where(Tenant.uuid == Tenant.parent_uuid)).one()
        user = User(uuid=uuid.uuid4(), username=username, tenant_uuid=top,
                    password_hash=PasswordHasher(rounds=4).hash(password))
        policy = Policy(tenant_uuid=top, name=f'p-{username}', slug=f'p-{username}', acl=acl)
        s.add_all([user, policy])
        s.flush()
        s.add(UserPolicy(user_uuid=user.uuid, policy_uuid=policy.uuid))


def wait_for(browser, expected: str) -> str:
    """The page text once it shows ``expected``: a click returns before the next page has
    loaded, so read only when it is there (10 s at most)."""
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(driver):
        try:
            page = driver.find_element(By.TAG_NAME, 'body').text
        except WebDriverException:  # between two pages
            return False
        return page if expected in page else False
    try:
        return WebDriverWait(browser, 10, poll_frequency=0.1).until(shown)
    except TimeoutException:
        raise AssertionError(f'{expected!r} not in page: {browser.page_source[:2000]}') from None
