"""A web application of another origin uses the Wazo API from a real browser (headless
Chromium), as wazo-auth allows: it logs in with Basic credentials, checks and deletes its
token and reads our error bodies, preflights included; the sign-in page stays unreadable."""
from __future__ import annotations

import json

import pytest

from tests.support.apps import running_app
from tests.support.browser import browser, make_top_user, needs_browser, own_engine  # noqa: F401
from tests.support.live_server import LiveServer
from tests.support.plain_page import PlainPage
from wazo_like_auth.config import load_config

pytestmark = needs_browser

# Runs in the other origin's page: each call's status and body, or the browser's refusal.
CALLS = """
const [api, done] = [arguments[0], arguments[arguments.length - 1]];
async function call(method, path, headers, body) {
  try {
    const r = await fetch(api + path, {method, headers, body});
    return {status: r.status, body: await r.text()};
  } catch (e) { return {refused: String(e)}; }
}
(async () => {
  const basic = {'Authorization': 'Basic ' + btoa('alice:s3cret'),
                 'Content-Type': 'application/json'};
  const out = {};
  out.bad = await call('POST', '/0.1/token', {...basic,
      'Authorization': 'Basic ' + btoa('alice:wrong')}, '{}');
  out.login = await call('POST', '/0.1/token', basic, '{"expiration": 600}');
  const token = JSON.parse(out.login.body).data.token;
  out.check = await call('GET', '/0.1/token/' + token);
  out.cached = await call('GET', '/0.1/token/' + token + '?scope=confd.users.me.read');
  out.again = await call('GET', '/0.1/token/' + token + '?scope=confd.users.me.read');
  out.mine = await call('GET', '/0.1/users/me/tokens', {'X-Auth-Token': token});
  out.revoke = await call('DELETE', '/0.1/token/' + token);
  out.gone = await call('GET', '/0.1/token/' + token);
  out.page = await call('GET', '/realms/master/protocol/openid-connect/auth');
  done(out);
})();
"""


@pytest.fixture(scope='module')
def server(own_engine, tmp_path_factory):  # noqa: F811
    state = tmp_path_factory.mktemp('state')
    config = load_config(config_file=None, environ={}, flags={
        'db_uri': own_engine.url.render_as_string(hide_password=False),
        'state_dir': str(state), 'password_hash_rounds': 4,
        'token_secret': 'cors-secret-' + 'x' * 40})
    with running_app(config, own_engine) as app:
        make_top_user(own_engine, 'alice', 's3cret',
                      ['confd.users.me.read', 'auth.users.me.tokens.read'])
        with LiveServer(app) as live:
            yield live


def test_a_web_application_of_another_origin_logs_in_checks_and_logs_out(
        server, browser):  # noqa: F811
    with PlainPage('Web app') as origin:  # another origin: another port
        browser.get(origin.url + '/')
        browser.set_script_timeout(20)
        out = browser.execute_async_script(CALLS, server.url)
    assert out['bad']['status'] == 401 and json.loads(out['bad']['body'])
    assert out['login']['status'] == 200 and '"expires_at"' in out['login']['body']
    assert out['check']['status'] == 200
    # The second identical check is answered from the validation cache, before Flask.
    assert out['cached']['status'] == out['again']['status'] == 200
    assert out['again']['body'] == out['cached']['body']
    assert out['mine']['status'] == 200 and '"items"' in out['mine']['body']  # a preflight
    assert out['revoke']['status'] == 200
    assert out['gone']['status'] == 404
    # The sign-in page (cookies, a form) is not the Wazo API: the browser hides it.
    assert 'refused' in out['page'], out['page']
