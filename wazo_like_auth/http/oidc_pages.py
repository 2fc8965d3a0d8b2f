"""The authorization endpoint and its pages (OIDC Core §3.1.2): sign-in and consent,
server-rendered, no JavaScript needed.

GET|POST {issuer}/protocol/openid-connect/auth   (global issuer: .../oauth2/authorize)
POST     .../auth/signin                         the sign-in form
POST     .../auth/consent                        the consent form

The sign-in and consent forms carry the authorization request's parameters as hidden fields
and are validated again in full when posted: tampering only makes another request, checked
like the first.
"""
from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

from flask import Response, redirect, request

from ..oidc import authorize
from ..oidc.errors import AuthorizeError, InvalidTarget, consent_required, login_required
from ..oidc.realms import Realm
from ..services.oidc_signin import SignedIn, SigninFailed
from .client_facts import user_agent
from .oidc_endpoints import base_url, global_realm
from .oidc_page_kit import (FORM_POST_SCRIPT, SIGNIN_COOKIE, PageKit, no_store,
                            set_signin_cookie)
from .pages import throttled_message, with_retry_after

MESSAGES = {
    'bad_credentials': 'Wrong username or password.',
    'csrf': 'This form has expired. Please try again.',
    'outside_client': 'This account cannot sign in to this application. '
                      'Please sign in with another account.',
}
SCOPE_TEXT = {
    'openid': 'Know who you are (your user identifier)',
    'profile': 'See your name and username',
    'email': 'See your e-mail address',
    'offline_access': 'Stay signed in until you remove its access',
}


class AuthorizePages:
    def __init__(self, *, oidc_clients, signins, codes, id_tokens, kit: PageKit,
                 public_url: str | None, signin_lifetime: int, clock):
        self._clients = oidc_clients
        self._signins = signins
        self._codes = codes
        self._id_tokens = id_tokens
        self._kit = kit
        self._public_url = public_url
        self._lifetime = signin_lifetime
        self._clock = clock

    # -- views ------------------------------------------------------------------------

    def authorize(self, slug: str | None = None) -> Response:
        realm = self.realm(slug)
        source = request.form if request.method == 'POST' else request.args
        return self._continue(realm, authorize.parameters(source), _auth_path(),
                              repeats=authorize.repeated(source))

    def sign_in(self, slug: str | None = None) -> Response:
        realm, path = self.realm(slug), _auth_path(last='/signin')
        params = authorize.parameters(request.form)
        if not self._kit.csrf_ok('sign_in'):
            return self._continue(realm, params, path, message=MESSAGES['csrf'], status=400)
        client = self._clients.client(realm, params.get('client_id'))
        try:
            signin = self._signins.sign_in(realm, request.remote_addr or '',
                                           request.form.get('username', ''),
                                           request.form.get('password', ''),
                                           client.tenant_uuid if client else None,
                                           user_agent=user_agent(),
                                           previous=request.cookies.get(SIGNIN_COOKIE))
        except SigninFailed as e:
            message = throttled_message(e.retry_after) if e.reason == 'throttled' \
                else MESSAGES[e.reason]
            return with_retry_after(
                self._continue(realm, params, path, message=message, status=e.status,
                               username=request.form.get('username', '')), e.retry_after)
        response = self._continue(realm, params, path, signin=signin)
        set_signin_cookie(response, signin.cookie, _cookie_path(path), self._lifetime)
        return response

    def consent(self, slug: str | None = None) -> Response:
        realm, path = self.realm(slug), _auth_path(last='/consent')
        params = authorize.parameters(request.form)
        # The sign-in of this browser, as it is: prompt=login (or select_account) and max_age
        # were satisfied when the consent page of this very request was shown (applying them
        # again would loop back to sign-in); the form is bound to the request for that.
        signin = self._signins.current(realm, request.cookies.get(SIGNIN_COOKIE))
        if not self._kit.csrf_ok(_consent_form(signin, params)):
            # Also a page shown for another user than the browser's sign-in now (it signed
            # in again as someone else in another tab): that user saw no consent page.
            return self._continue(realm, params, path, message=MESSAGES['csrf'], status=400)
        return self._continue(realm, params, path, signin=signin,
                              decision=request.form.get('decision'))

    # -- the flow ------------------------------------------------------------------------

    def _continue(self, realm: Realm, params: dict, path: str, *, signin: SignedIn | None = None,
                  message: str | None = None, status: int = 200, username: str = '',
                  decision: str | None = None, repeats: tuple[str, ...] = ()) -> Response:
        client = self._clients.client(realm, params.get('client_id'))
        try:
            redirect_uri = authorize.check_target(
                params, client.registration if client else None, repeats)
        except InvalidTarget as e:
            return self._kit.page('oidc_error.html', 400, cookie_path=_cookie_path(path),
                                  title='Cannot sign in', message=e.message)
        try:
            req = authorize.parse(params, client.registration, repeats)
            return self._decide(realm, client, req, params, path, signin=signin,
                                message=message, status=status, username=username,
                                decision=decision)
        except AuthorizeError as e:
            answer = {'error': e.error, 'error_description': e.description}
            return self._answer(realm, redirect_uri, params, answer, client)

    def _decide(self, realm, client, req, params, path, *, signin, message, status, username,
                decision) -> Response:
        if signin is None and message is None:
            signin = self._current(realm, req)
        if signin is not None and not self._signins.serves(client.tenant_uuid, signin):
            # The token endpoint would refuse its code: ask for another account now.
            signin, message, status = None, MESSAGES['outside_client'], 403
        if signin is None:
            if 'none' in req.prompt:
                raise login_required()
            return self._kit.page(
                'oidc_signin.html', status, cookie_path=_cookie_path(path),
                redirect_uri=req.redirect_uri, action=path + '/signin', params=params,
                client_name=client.registration.name, realm_name=realm.name or realm.slug,
                username=username or req.login_hint or '', message=message)
        if decision == 'deny':
            raise AuthorizeError('The user denied the request', 'access_denied')
        if decision != 'approve' and self._clients.needs_consent(
                signin.user_uuid, client, req.scope, 'consent' in req.prompt):
            if 'none' in req.prompt:
                raise consent_required()
            return self._kit.page(
                'oidc_consent.html', 200, cookie_path=_cookie_path(path),
                redirect_uri=req.redirect_uri, action=path + '/consent', params=params,
                form=_consent_form(signin, params), client_name=client.registration.name,
                username=signin.username,
                scopes=[SCOPE_TEXT[s] for s in req.scope if s in SCOPE_TEXT])
        if decision == 'approve':
            self._clients.remember_consent(signin.user_uuid, client, req.scope)
        code = self._codes.issue(realm.issuer, req, client.uuid, signin)
        return self._answer(realm, req.redirect_uri, params, {'code': code}, client,
                            mode=req.response_mode)

    def _current(self, realm: Realm, req: authorize.AuthorizationRequest) -> SignedIn | None:
        """The browser's sign-in, unless the request wants a fresh one (prompt=login, or
        select_account, or max_age passed) or names another user (OIDC Core §3.1.2.1: with an
        id_token_hint, a positive answer only for the user it identifies; a hint we cannot
        verify is ignored)."""
        signin = self._signins.current(realm, request.cookies.get(SIGNIN_COOKIE))
        if signin is None or req.prompt & authorize.SIGN_IN_PROMPTS:
            return None
        if req.max_age is not None and \
                (self._clock() - signin.auth_time).total_seconds() > req.max_age:
            return None
        hint = self._id_tokens.verify_hint(req.id_token_hint or '', realm.issuer)
        if hint is not None and hint.sub != str(signin.user_uuid):
            return None
        return signin

    def _answer(self, realm: Realm, redirect_uri: str, params: dict, answer: dict, client,
                mode: str | None = None) -> Response:
        """Back to the client (RFC 6749 §4.1.2, RFC 9207 ``iss``), in the query or, with
        response_mode=form_post, as an auto-submitted form (a button without JavaScript)."""
        state = params.get('state')
        if state and len(state) <= authorize.MAX_LENGTH['state']:
            answer['state'] = state
        answer['iss'] = realm.issuer
        if (mode or params.get('response_mode')) == 'form_post':
            return self._kit.page('oidc_form_post.html', 200,
                                  cookie_path=_cookie_path(request.script_root + request.path),
                                  redirect_uri=redirect_uri, script=FORM_POST_SCRIPT,
                                  target=redirect_uri, fields=answer,
                                  client_name=client.registration.name)
        separator = '&' if '?' in redirect_uri else '?'
        return no_store(redirect(redirect_uri + separator + urlencode(answer), code=302))

    def realm(self, slug: str | None) -> Realm:
        if slug is None:
            return global_realm(self._public_url)
        return self._clients.realm(slug, base_url(self._public_url))


def _consent_form(signin: SignedIn | None, params: dict) -> str:
    """The CSRF form name of the consent page shown to ``signin``'s user for the request of
    ``params``: its answer counts only while the browser is signed in as that user, and for
    that request. A consent page of another request (shown to a browser signed in long ago)
    would otherwise approve a prompt=login or max_age request with no new sign-in."""
    if signin is None:
        return 'consent'
    request_digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    return f'consent:{signin.user_uuid}:{request_digest}'


def _auth_path(last: str = '') -> str:
    """The authorization endpoint's path as the browser reached it."""
    path = request.script_root + request.path
    return path[:-len(last)] if last and path.endswith(last) else path


def _cookie_path(auth_path: str) -> str:
    """The issuer's path (``/realms/{slug}/`` or ``/api/auth/0.1/``): the sign-in cookie is
    not sent to other realms."""
    for marker in ('/protocol/openid-connect/', '/oauth2/'):
        if marker in auth_path:
            return auth_path[:auth_path.index(marker) + 1]
    return '/'
