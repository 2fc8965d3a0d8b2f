"""The OpenID Connect use cases that drive the OAuth 2.0 endpoints (services/oauth2/): the
realm-restricted endpoint objects (realm_endpoints) and the token endpoint's authorization
code grant and ID tokens on refresh (token_grants). The protocol rules they apply live in
``wazo_like_auth/oidc``; the other OpenID Connect use cases in services/oidc_*.py."""
