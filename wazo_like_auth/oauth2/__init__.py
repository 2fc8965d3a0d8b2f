"""OAuth 2.0 protocol rules, free of HTTP (Flask) and SQL: one module per RFC concern, as
Authlib lays them out. They import nothing of ours but each other; services and the HTTP layer
call into them, never the reverse.

errors (RFC 6749 §5.2), parameters (§3.1-3.2 request parameters), clients (§2.3 client
authentication, grant type names, scope strings), device (RFC 8628 user codes and settings),
discovery (RFC 8414 metadata), settings (the ``clients:`` configuration list).

The endpoints that use these rules are use cases: services/oauth2/ (token, introspection,
revocation, device authorization); the device verification pages are http/oauth2_device_page.py.
A new signing key (JWT, OpenID Connect): its format and algorithms in a module here (e.g.
``jwk.py``, pure), its storage in repositories/, its rotation a service, built in
composition.py.
"""
