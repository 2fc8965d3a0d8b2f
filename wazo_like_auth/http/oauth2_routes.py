"""URL map of the OAuth 2.0 endpoints, the device page and client administration."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import oauth2_clients as oc
from . import oauth2_endpoints as oe
from .api import PREFIXES, Api
from .oauth2_device_page import DevicePages
from .oidc_endpoints import GlobalDiscovery, Userinfo
from .pages import add_page_rule

if TYPE_CHECKING:
    from ..composition import Services

WELL_KNOWN = ('/.well-known/oauth-authorization-server', '/.well-known/openid-configuration')


def register(api: Api, services: Services) -> None:
    public_url = services.oauth2.public_url
    api.route(oe.OAuthToken, '/oauth2/token', endpoint=services.oauth2.token_endpoint,
              public_url=public_url)
    api.route(oe.OAuthIntrospection, '/oauth2/introspect',
              endpoint=services.oauth2.introspection)
    api.route(oe.OAuthRevocation, '/oauth2/revoke', endpoint=services.oauth2.revocation)
    api.route(oe.OAuthDeviceAuthorization, '/oauth2/device_authorization',
              endpoint=services.oauth2.device_authorization, public_url=public_url)
    # OpenID Connect UserInfo (http/oidc_endpoints.py): scoped claims for code-flow tokens.
    api.route(Userinfo, '/oauth2/userinfo', oidc_clients=services.oidc.clients,
              public_url=public_url, id_tokens=services.oidc.id_tokens)
    # Discovery at the root (what clients try first), at the RFC 8414 §3.1 path for an issuer
    # with a path component, and under the prefixes (OpenID Connect appends to the issuer).
    api.add_resource(GlobalDiscovery, *WELL_KNOWN,
                     '/.well-known/oauth-authorization-server/api/auth/0.1',
                     *(prefix + path for prefix in PREFIXES for path in WELL_KNOWN),
                     resource_class_kwargs={'public_url': public_url})

    protected = {'authorizer': services.authorizer, 'clients': services.client_service}
    api.route(oc.Clients, '/clients', **protected)
    api.route(oc.ClientItem, '/clients/<uuid:client_uuid>', **protected)
    api.route(oc.ClientSecret, '/clients/<uuid:client_uuid>/secret', **protected)

    pages = DevicePages(devices=services.device_flow, csrf_key=services.oauth2.csrf_key,
                        oidc_clients=services.oidc.clients, public_url=public_url)
    # The global issuer's page under the API prefixes, each realm's at {issuer}/device.
    for prefix, name in [*((p, p) for p in PREFIXES), ('/realms/<slug>', '_realm')]:
        api.app.add_url_rule(f'{prefix}/device', f'device_page{name}', pages.show,
                             methods=['GET'])
        api.app.add_url_rule(f'{prefix}/device', f'device_sign_in{name}', pages.sign_in,
                             methods=['POST'])
        add_page_rule(api.app, f'{prefix}/device/decision', f'device_decision{name}',
                      pages.decide, ['POST'])
