"""RP-Initiated Logout 1.0: GET|POST {issuer}/protocol/openid-connect/logout (global issuer:
.../oauth2/logout), and POST .../logout/confirm.

With a valid ``id_token_hint`` (one of our ID tokens for this issuer, expired or not) the
sign-in it names ends at once, with every session and token issued through it, and so does the
browser's own sign-in when it is the same user's; without one, or when the browser is signed
in as someone else, the user is asked to confirm, so that a link on another site cannot sign
them out. Then back
to a registered ``post_logout_redirect_uri`` (exact match, with ``state``), or a page saying
so. An unregistered redirect URI is an error page, never a redirect.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, redirect, request

from ..oidc.realms import Realm
from .oidc_page_kit import SIGNIN_COOKIE, PageKit, clear_signin_cookie, no_store
from .oidc_pages import _cookie_path

PARAMETERS = ('id_token_hint', 'post_logout_redirect_uri', 'state', 'client_id')


class LogoutPages:
    def __init__(self, *, oidc_clients, signins, id_tokens, kit: PageKit, realm_of):
        self._clients = oidc_clients
        self._signins = signins
        self._id_tokens = id_tokens
        self._kit = kit
        self._realm_of = realm_of

    def logout(self, slug: str | None = None) -> Response:
        realm, path = self._realm_of(slug), request.script_root + request.path
        source = request.form if request.method == 'POST' else request.args
        params = {k: source[k] for k in PARAMETERS if source.get(k) and len(source[k]) <= 16384}
        hint = self._id_tokens.verify_hint(params.get('id_token_hint', ''), realm.issuer)
        target = self._target(realm, params, hint.client_id if hint else None)
        if isinstance(target, Response):
            return target
        current = self._signins.current(realm, request.cookies.get(SIGNIN_COOKIE))
        if hint is not None and hint.sid is not None:
            self._signins.end_in_realm(realm, hint.sid, hint.sub)
            # The hint proves its own sign-in only: a browser signed in as someone else
            # (a link carrying another user's ID token) is asked, as without a hint
            # (RP-Initiated Logout 1.0 §2: a hint not matching the session is suspect).
            if current is None or str(current.user_uuid) == hint.sub:
                if current is not None and current.uuid != hint.sid:
                    self._signins.end(current.uuid)
                return self._done(target, params, path)
        if hint is not None and 'client_id' not in params:
            # The form leaves the hint out: its client names the registered redirect URI.
            params['client_id'] = hint.client_id
        # The confirmation form's answer redirects to ``target``: the CSP must allow it.
        return self._kit.page('oidc_logout.html', 200, cookie_path=_cookie_path(path),
                              redirect_uri=target, action=path + '/confirm',
                              params=params, realm_name=realm.name or realm.slug or '')

    def confirm(self, slug: str | None = None) -> Response:
        realm = self._realm_of(slug)
        path = (request.script_root + request.path).removesuffix('/confirm')
        params = {k: request.form[k] for k in PARAMETERS
                  if request.form.get(k) and len(request.form[k]) <= 16384}
        target = self._target(realm, params, None)
        if isinstance(target, Response):
            return target
        if not self._kit.csrf_ok('logout'):
            return self._kit.page('oidc_logout.html', 400, cookie_path=_cookie_path(path),
                                  redirect_uri=target, action=path + '/confirm',
                                  params=params, realm_name=realm.name or realm.slug or '',
                                  message='This form has expired. Please try again.')
        if request.form.get('decision') == 'logout':
            self._end_current(realm)
            return self._done(target, params, path)
        # "Stay signed in": back to the application (or a page saying so), the browser's
        # sign-in and its cookie untouched.
        return self._done(target, params, path, signed_out=False)

    def _end_current(self, realm: Realm) -> None:
        current = self._signins.current(realm, request.cookies.get(SIGNIN_COOKIE))
        if current is not None:
            self._signins.end(current.uuid)

    def _target(self, realm: Realm, params: dict, hinted_client: str | None):
        """The registered post-logout redirect URI, None, or an error page."""
        uri = params.get('post_logout_redirect_uri')
        if uri is None:
            return None
        client_id = params.get('client_id') or hinted_client
        if hinted_client and params.get('client_id') and params['client_id'] != hinted_client:
            client_id = None
        client = self._clients.client(realm, client_id)
        if client is not None and uri in client.post_logout_redirect_uris:
            return uri
        if client is not None:
            message = ('The address to return to after signing out is not registered for '
                       'this application.')
        elif client_id:
            message = 'The application that sent you here is not known to this service.'
        else:  # RP-Initiated Logout §2: the URI needs client_id or a valid id_token_hint
            message = ('The application that sent you here could not be identified, so it '
                       'cannot send you back.')
        return self._kit.page('oidc_error.html', 400,
                              cookie_path=_cookie_path(request.script_root + request.path),
                              title='Cannot sign out', message=message)

    def _done(self, target: str | None, params: dict, path: str,
              signed_out: bool = True) -> Response:
        if target is None:
            title, message = ('Signed out', 'You are signed out.') if signed_out else \
                ('Still signed in', 'You are still signed in.')
            response = self._kit.page('done.html', 200, cookie_path=_cookie_path(path),
                                      title=title, message=message)
        else:
            query = urlencode({'state': params['state']}) if params.get('state') else ''
            separator = '&' if '?' in target else '?'
            response = no_store(redirect(target + (separator + query if query else ''), 302))
        if signed_out:
            clear_signin_cookie(response, _cookie_path(path))
        return response
