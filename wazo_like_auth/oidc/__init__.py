"""OpenID Connect on top of the OAuth 2.0 package: one module per concern, free of Flask and
SQLAlchemy (the use cases live in services/oidc_*.py and services/oidc/, the resources in
http/oidc_*.py).

keys (JWS signing keys, their encryption at rest), id_token (claims, signing), pkce
(RFC 7636), authorize (authorization request validation, OIDC Core §3.1.2), discovery (OIDC
Discovery 1.0 / RFC 8414), errors, realms (issuer URLs).
"""
