"""One exception hierarchy for the whole service.

Every error a client can see is a ``ServiceError``: its class carries the HTTP status and the
``error_id``; an instance may refine the message and add ``details``. ``http/api.py`` is the only
place that turns them into responses (the envelope of spec D4).
"""
from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status_code = 500
    error_id = 'internal-error'
    message = 'Internal Server Error'
    # wazo-auth's ``resource`` key, where its error bodies carry one (admin spec §0.4): set on
    # the classes that always name one resource, given by the raiser for shared ones
    # (Conflict), or by the endpoint for validation errors (http/errors.py).
    resource: str | None = None

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, resource: str | None = None):
        self.message = message or self.message
        self.details = details or {}
        self.headers = headers or {}
        self.resource = resource or self.resource
        super().__init__(self.message)


class InvalidData(ServiceError):
    status_code = 400
    error_id = 'invalid-data'
    message = 'Invalid data'


class InvalidHost(InvalidData):
    """The request names no host (a Host header werkzeug does not read as one, or none) where
    the service names itself by it: its issuer and URLs without ``public_url``."""
    error_id = 'invalid-host'
    message = 'Invalid Host header: set public_url, or reach the service by a host name'


class InvalidListParam(InvalidData):
    error_id = 'invalid-list-param'
    message = 'Invalid list parameter'
    resource = 'users'


class PasswordTooLong(InvalidData):
    error_id = 'password-too-long'
    message = 'Password must be at most 72 bytes in UTF-8'


class AuthenticationFailed(ServiceError):
    """Any failed login. The message never says why (spec D4): an attacker learns nothing."""
    status_code = 401
    error_id = 'authentication-failed'
    message = 'Authentication Failed'


class Unauthorized(ServiceError):
    """A protected endpoint refused the token (missing, invalid, expired or lacking the ACL)."""
    status_code = 401
    error_id = 'unauthorized'
    message = 'Unauthorized'


class UnauthorizedTenant(ServiceError):
    status_code = 401
    error_id = 'unauthorized-tenant'
    message = 'Unauthorized tenant'


class TokenNotFound(ServiceError):
    status_code = 404
    error_id = 'no-such-token'
    message = 'No such token'


class ForbiddenScope(ServiceError):
    """Token checks answer 403 for a missing scope or tenant, never 401 (wazo client contract)."""
    status_code = 403
    error_id = 'forbidden'
    message = 'Forbidden'


class NotFound(ServiceError):
    status_code = 404
    error_id = 'not-found'
    message = 'Not found'


class UnknownSigningKey(NotFound):
    """``keys retire`` named a kid that is not a published signing key."""
    error_id = 'unknown-signing-key'
    message = 'No such signing key'


class SigningKeysUnreadable(ServiceError):
    """``keys rotate`` run with another token_secret than the service's: no key that signs
    decrypts with it (a key made there would never sign on the service)."""
    status_code = 409
    error_id = 'signing-keys-unreadable'
    message = 'No signing key decrypts with this token_secret'


class UnknownUser(NotFound):
    error_id = 'unknown-user'
    message = 'No such user'
    resource = 'users'


class Conflict(ServiceError):
    status_code = 409
    error_id = 'conflict'
    message = 'Conflict detected'


class TooManySessions(ServiceError):
    status_code = 429
    error_id = 'too-many-sessions'
    message = 'Too many sessions'


class TooManyAttempts(ServiceError):
    """Guessing throttled; the answer carries Retry-After."""
    status_code = 429
    error_id = 'too-many-attempts'
    message = 'Too many attempts, retry later'


class DatabaseUnavailable(ServiceError):
    status_code = 503
    error_id = 'database-unavailable'
    message = 'Database unavailable'


class ServerBusy(ServiceError):
    """Every thread allowed to wait for request bodies is waiting (http/body_limit.py): the
    answer carries Retry-After."""
    status_code = 503
    error_id = 'server-busy'
    message = 'Too many requests are sending their bodies at once, retry later'


class ConcurrentChange(ServiceError):
    """A concurrent request's transaction got in the way (a deadlock, a serialization
    failure): nothing was written, and the same request can be sent again."""
    status_code = 503
    error_id = 'concurrent-change'
    message = 'A concurrent change got in the way: try again'


class UnknownPolicy(NotFound):
    error_id = 'unknown-policy'
    message = 'No such policy'


class UnknownGroup(NotFound):
    error_id = 'unknown-group'
    message = 'No such group'
    resource = 'groups'


class ForbiddenPolicy(ServiceError):
    """A read-only policy (config-managed, or shared by an ancestor tenant) cannot change."""
    status_code = 403
    error_id = 'forbidden-policy'
    message = 'Forbidden policy modification'


class ForbiddenGroup(ServiceError):
    """A read-only (system-managed) group cannot be renamed, deleted or change members."""
    status_code = 403
    error_id = 'forbidden-group'
    message = 'Forbidden group modification'
    resource = 'groups'


class MismatchingTenant(InvalidData):
    # wazo-auth's error_id, spelling included: clients may match on it.
    error_id = 'missmatching-tenant'
    message = 'Resources are not in the same tenant'
    resource = 'groups'


class UnknownTenant(NotFound):
    error_id = 'unknown-tenant'
    message = 'No such tenant'
    resource = 'tenants'


class TenantIdentityConflict(Conflict):
    error_id = 'tenant-identity-conflict'
    message = 'Tenant Conflict detected'
    resource = 'tenants'


class TopTenantConflict(ServiceError):
    """A new tenant may not take the uuid of its own parent: that would make a second top."""
    status_code = 403
    error_id = 'conflict'
    message = 'Conflict detected'
    resource = 'tenants'


class DeletingOwnTenant(ServiceError):
    status_code = 403
    error_id = 'deleting-own-tenant-forbidden'
    message = 'Deleting its own tenant is forbidden'
    resource = 'tenants'


class TenantHasChildren(InvalidData):
    error_id = 'tenant-has-children'
    message = 'A tenant with sub-tenants cannot be deleted'
    resource = 'tenants'


class UnknownRefreshToken(NotFound):
    error_id = 'cannot-find-refresh-token-matching-client-id'
    resource = 'tokens'

    @classmethod
    def of(cls, client_id: str) -> UnknownRefreshToken:
        return cls(f'unknown refresh_token for client_id "{client_id}"',
                   details={'client_id': client_id})


class RefreshTokenConflict(Conflict):
    message = 'The refresh token changed during the login; try again'


class UnknownClient(NotFound):
    error_id = 'unknown-client'
    message = 'No such client'


class ReadOnlyClient(ServiceError):
    status_code = 403
    error_id = 'read-only-client'
    message = 'This client is declared in the configuration and cannot be changed here'


class MetricsForbidden(ServiceError):
    status_code = 403
    error_id = 'forbidden'
    message = 'Metrics are not served to this address'


class UnknownRealm(NotFound):
    """No tenant has this slug: /realms/{slug}/... answers 404 in the envelope."""
    error_id = 'unknown-realm'
    message = 'No such realm'


class UnknownEmail(NotFound):
    error_id = 'unknown-email'
    message = 'No such email'
    resource = 'emails'


class SigningKeyRetired(ServiceError):
    """The key a JWT access token was signed with was retired (keys retire) while it was
    being issued: the token is not recorded; asking again gets one signed by the successor."""
    status_code = 503
    error_id = 'signing-key-retired'
    message = 'The signing key was retired meanwhile: try again'


class MailUnavailable(ServiceError):
    """Mail is not configured (``smtp.host``): nothing that needs a mail can be done."""
    status_code = 503
    error_id = 'mail-unavailable'
    message = 'Mail is not configured on this server'


class InvalidCursor(InvalidData):
    """A ``since`` of the revocation feed that it never gave."""
    error_id = 'invalid-cursor'
    message = 'Unknown cursor: give one from a previous answer, or none'
