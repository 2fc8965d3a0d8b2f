"""Helpers of the OpenID Connect tests: a realm (tenant with a slug), clients registered
with redirect URIs through the admin API, and a browser-like requests session that fills in
the real sign-in and consent forms (the headless-Chromium test does it with a real browser)."""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

REDIRECT = 'https://rp.example.com/callback'
LOGOUT_REDIRECT = 'https://rp.example.com/signed-out'


class Forms(HTMLParser):
    """The forms of a page: action and {name: value} of inputs and the clicked button."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'form':
            self.forms.append({'action': attrs.get('action'), 'fields': {}, 'buttons': {}})
        elif tag == 'input' and self.forms and attrs.get('name'):
            self.forms[-1]['fields'][attrs['name']] = attrs.get('value') or ''
        elif tag == 'button' and self.forms and attrs.get('name'):
            self.forms[-1]['buttons'][attrs.get('id')] = (attrs['name'], attrs.get('value'))


def forms_of(html: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def submit(session: requests.Session, page: requests.Response, button: str | None = None,
           **values) -> requests.Response:
    """Post the page's first form with ``values`` filled in (and ``button`` clicked), not
    following the redirect."""
    form = forms_of(page.text)[0]
    data = {**form['fields'], **values}
    if button:
        name, value = form['buttons'][button]
        data[name] = value
    return session.post(urljoin(page.url, form['action']), data=data, allow_redirects=False,
                        timeout=10)


def callback_params(response: requests.Response) -> dict[str, str]:
    """The query of a redirect to the client (asserts it goes to the registered URI)."""
    assert response.status_code == 302, (response.status_code, response.text[:500])
    location = response.headers['Location']
    assert location.startswith(REDIRECT + '?'), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def realm(admin):
    """A tenant with slug ``acme``: the realm /realms/acme."""
    return admin.ok('POST', '/tenants', json={'name': 'Acme', 'slug': 'acme'})


def register_client(api, admin_token, tenant_uuid: str | None = None, **fields) -> dict:
    body = {'client_id': 'webapp', 'name': 'Web <App>', 'public': False,
            'grant_types': ['authorization_code', 'refresh_token'],
            'redirect_uris': [REDIRECT], 'post_logout_redirect_uris': [LOGOUT_REDIRECT],
            **fields}
    headers = {'Wazo-Tenant': tenant_uuid} if tenant_uuid else {}
    response = api.admin('POST', '/clients', admin_token, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()
