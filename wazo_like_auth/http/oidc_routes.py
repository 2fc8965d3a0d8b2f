"""URL map of the OpenID Connect issuers: the realms at /realms/{slug} (Keycloak's layout)
and the OpenID Connect additions to the global issuer under /api/auth/0.1/oauth2/."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..exceptions import UnknownRealm
from . import oidc_consents as oc
from . import oidc_endpoints as oe
from .api import PREFIXES, Api
from .oidc_logout_page import LogoutPages
from .oidc_page_kit import PageKit
from .oidc_pages import AuthorizePages
from .pages import add_page_rule, readable_errors

if TYPE_CHECKING:
    from ..composition import Services

REALM = '/realms/<slug>'
PROTOCOL = REALM + '/protocol/openid-connect'


def register(api: Api, services: Services) -> None:
    public_url = services.oauth2.public_url
    common = {'oidc_clients': services.oidc.clients, 'public_url': public_url}
    resources = [
        (oe.RealmDiscovery, [REALM + '/.well-known/openid-configuration',
                             '/.well-known/oauth-authorization-server' + REALM,
                             '/.well-known/openid-configuration' + REALM], {}),
        (oe.RealmToken, [PROTOCOL + '/token'], {'endpoints': services.oidc.endpoints}),
        (oe.RealmIntrospection, [PROTOCOL + '/token/introspect'],
         {'endpoints': services.oidc.endpoints}),
        (oe.RealmRevocation, [PROTOCOL + '/revoke'], {'endpoints': services.oidc.endpoints}),
        (oe.RealmDeviceAuthorization, [PROTOCOL + '/auth/device'],
         {'endpoints': services.oidc.endpoints}),
        (oe.Userinfo, [PROTOCOL + '/userinfo'], {'id_tokens': services.oidc.id_tokens}),
    ]
    for resource, paths, extra in resources:
        api.add_resource(resource, *paths, endpoint='oidc_' + resource.__name__.lower(),
                         resource_class_kwargs={**common, **extra})
    api.add_resource(oe.Certs, PROTOCOL + '/certs',
                     *(prefix + '/oauth2/certs' for prefix in PREFIXES),
                     resource_class_kwargs={'signing_keys': services.oidc.signing_keys, **common})
    _pages(api, services)
    consents = {'authorizer': services.authorizer, 'consents': services.oidc.clients}
    api.route(oc.UserConsents, '/users/<uuid:user_uuid>/consents', **consents)
    api.route(oc.UserConsent, '/users/<uuid:user_uuid>/consents/<uuid:client_uuid>', **consents)
    api.route(oc.MyConsents, '/users/me/consents', **consents)
    api.route(oc.MyConsent, '/users/me/consents/<uuid:client_uuid>', **consents)


def _pages(api: Api, services: Services) -> None:
    kit = PageKit(csrf_key=services.oidc.csrf_key)
    pages = AuthorizePages(oidc_clients=services.oidc.clients,
                           signins=services.oidc.signins, codes=services.oidc.codes,
                           id_tokens=services.oidc.id_tokens,
                           kit=kit, public_url=services.oauth2.public_url,
                           signin_lifetime=services.oidc.signin_lifetime,
                           clock=services.clock)
    logout = LogoutPages(oidc_clients=services.oidc.clients, signins=services.oidc.signins,
                         id_tokens=services.oidc.id_tokens, kit=kit, realm_of=pages.realm)
    both, post = ['GET', 'POST'], ['POST']
    views = [('auth', pages.authorize, both), ('auth/signin', pages.sign_in, post),
             ('auth/consent', pages.consent, post), ('logout', logout.logout, both),
             ('logout/confirm', logout.confirm, post)]
    global_names = {'auth': 'authorize', 'auth/signin': 'authorize/signin',
                    'auth/consent': 'authorize/consent'}
    for name, page, methods in views:
        # A browser gets a page when the database is down or a bug shows, never JSON.
        view = readable_errors(page, in_envelope=(UnknownRealm,))
        endpoint = 'oidc_' + name.replace('/', '_')
        add_page_rule(api.app, f'{PROTOCOL}/{name}', endpoint, view, methods)
        for prefix in PREFIXES:
            path = f'{prefix}/oauth2/{global_names.get(name, name)}'
            add_page_rule(api.app, path, f'{endpoint}{prefix}', view, methods)
