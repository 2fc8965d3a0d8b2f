"""OAuth 2.0 alongside the Wazo API, issuing the same tokens: one module per RFC concern.

errors (RFC 6749 §5.2), clients (§2.3 client authentication), token_endpoint (§4.3, §4.4, §6,
RFC 8628 §3.4), introspection (RFC 7662), revocation (RFC 7009), discovery (RFC 8414),
device and device_authorization (RFC 8628). Free of Flask; the HTTP layer is http/oauth2_*.py.
"""
