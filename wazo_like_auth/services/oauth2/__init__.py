"""The OAuth 2.0 endpoints as use cases: each takes the parsed request (form, Authorization
header), applies the protocol rules of ``wazo_like_auth/oauth2`` and calls the services.

- a new endpoint: its protocol rules (parameters, errors, metadata) in a module of oauth2/, a
  class here (collaborators in its constructor), one field in oauth_wiring.OAuth2, one
  resource in http/oauth2_endpoints.py and one line in http/oauth2_routes.py;
- a new grant: its name in oauth2/clients.py (GRANT_TYPES), a method of TokenEndpoint
  registered in its ``_grants`` table, the token it issues from services/oauth_tokens.py.
"""
