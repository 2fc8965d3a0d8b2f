"""Which resource answers which path: the whole URL map on one screen."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import config_resources as cf
from . import events as ev
from . import groups as gr
from . import links as ln
from . import mail_routes
from . import oauth2_routes
from . import oidc_routes
from . import openapi
from . import policies as po
from . import refresh_tokens as rt
from . import sessions as ss
from . import tenants as tn
from . import user_emails as ue
from . import users as us
from .api import PREFIXES, Api
from .revocation_feed import RevokedTokens
from .status import Status
from .tokens import Tokens, TokenRevocation, TokenScopesCheck, token_check_view

if TYPE_CHECKING:
    from ..composition import Services


def register(api: Api, services: Services) -> None:
    _tokens(api, services)
    _service(api, services)
    protected = {'authorizer': services.authorizer}
    _refresh_tokens_and_sessions(api, services, protected)
    _tenants_and_users(api, services, protected)
    _policies_and_groups(api, services, protected)
    api.route(ev.Events, '/events', **protected, trail=services.audit_trail)
    oauth2_routes.register(api, services)
    oidc_routes.register(api, services)
    mail_routes.register(api, services)


def _tokens(api: Api, services: Services) -> None:
    tokens = services.token_service
    checker = services.token_checker
    api.route(Tokens, '/token', token_service=tokens)
    api.route(TokenRevocation, '/token/<token>', token_service=tokens)
    check_token = token_check_view(checker)  # the hot path: a plain Flask view
    for prefix in PREFIXES:
        api.app.add_url_rule(prefix + '/token/<token>', 'check_token', check_token,
                             methods=['GET', 'HEAD'])
    api.route(TokenScopesCheck, '/token/<token>/scopes/check', token_checker=checker)
    # The revocation feed of offline verifiers of JWT access tokens.
    api.route(RevokedTokens, '/tokens/revoked', authorizer=services.authorizer,
              feed=services.revocation_feed)


def _service(api: Api, services: Services) -> None:
    api.route(Status, '/status', status_service=services.status_service)
    api.route(cf.Config, '/config', authorizer=services.authorizer,
              config=services.config_service)
    api.route(cf.Backends, '/backends', config=services.config_service)
    openapi.document_yaml()  # a broken fragment stops start-up, not the first reader
    api.route(cf.ApiSpec, '/api/api.yml')


def _refresh_tokens_and_sessions(api: Api, services: Services, protected: dict) -> None:
    refresh = {**protected, 'refresh_tokens': services.refresh_token_service}
    api.route(rt.RefreshTokens, '/tokens', **refresh)
    api.route(rt.MyRefreshTokens, '/users/me/tokens', **refresh)
    api.route(rt.MyRefreshToken, '/users/me/tokens/<path:client_id>', **refresh)
    api.route(rt.UserRefreshTokens, '/users/<uuid:user_uuid>/tokens', **refresh)
    api.route(rt.UserRefreshToken, '/users/<uuid:user_uuid>/tokens/<path:client_id>', **refresh)

    sessions = {**protected, 'sessions': services.session_service}
    api.route(ss.Sessions, '/sessions', **sessions)
    api.route(ss.SessionItem, '/sessions/<uuid:session_uuid>', **sessions)
    api.route(ss.UserSessions, '/users/<uuid:user_uuid>/sessions', **sessions)
    api.route(ss.UserSession, '/users/<uuid:user_uuid>/sessions/<uuid:session_uuid>',
              **sessions)


def _tenants_and_users(api: Api, services: Services, protected: dict) -> None:
    tenants = {**protected, 'tenants': services.tenant_service}
    api.route(tn.Tenants, '/tenants', **tenants)
    api.route(tn.TenantItem, '/tenants/<uuid:tenant_uuid>', **tenants)
    api.route(tn.TenantDomains, '/tenants/<uuid:tenant_uuid>/domains', **tenants)
    api.route(tn.TenantParent, '/tenants/<uuid:tenant_uuid>/parent/<uuid:parent_tenant_uuid>',
              **tenants)

    users = {**protected, 'users': services.user_service}
    api.route(us.Users, '/users', **users)
    api.route(us.UserItem, '/users/<uuid:user_uuid>', **users)
    api.route(us.UserPassword, '/users/<uuid:user_uuid>/password', **users)
    api.route(ue.UserEmails, '/users/<uuid:user_uuid>/emails', **users)
    api.route(ue.AdminUserEmails, '/admin/users/<uuid:user_uuid>/emails', **users)
    api.route(ue.MyEmails, '/users/me/emails', **users)


def _policies_and_groups(api: Api, services: Services, protected: dict) -> None:
    # {policy} is a uuid or a slug, one segment (policies.PolicyRefConverter).
    api.app.url_map.converters['policy'] = po.PolicyRefConverter
    policies = {**protected, 'policies': services.policy_service}
    api.route(po.Policies, '/policies', **policies)
    api.route(po.PolicyItem, '/policies/<policy:policy>', **policies)
    api.route(po.PolicyAccess, '/policies/<policy:policy>/acl/<access>', **policies)
    api.route(ln.UserPolicies, '/users/<uuid:user_uuid>/policies', **policies)
    api.route(ln.UserPolicy, '/users/<uuid:user_uuid>/policies/<policy:policy>', **policies)

    groups = {**protected, 'groups': services.group_service}
    api.route(gr.Groups, '/groups', **groups)
    api.route(gr.GroupItem, '/groups/<uuid:group_uuid>', **groups)
    api.route(ln.UserGroups, '/users/<uuid:user_uuid>/groups', **groups)
    api.route(ln.GroupUsers, '/groups/<uuid:group_uuid>/users', **groups)
    api.route(ln.GroupUser, '/groups/<uuid:group_uuid>/users/<uuid:user_uuid>', **groups)
    api.route(ln.GroupPolicies, '/groups/<uuid:group_uuid>/policies', **groups)
    api.route(ln.GroupPolicy, '/groups/<uuid:group_uuid>/policies/<policy:policy>', **groups)
