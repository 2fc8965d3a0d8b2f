"""The configuration's defaults: every key the service knows, with its value when nothing
sets it. Only config.py reads them (it merges files, environment and flags over them).
"""
from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    'rest_api': {
        'listen': '127.0.0.1',
        'port': 9497,
        'workers': None,  # None: chosen from the CPU count at start
        'threads': 64,
        'certificate': None,
        'private_key': None,
        'num_proxies': 0,
        'max_body_size': 1024 * 1024,
        # Cross-origin reads (http/cors.py); the headers are wazo-auth's.
        'cors': {'enabled': True, 'allow_headers': ['Content-Type', 'Authorization',
                                                    'X-Auth-Token', 'Wazo-Tenant',
                                                    'Wazo-Session-Type']},
    },
    'db_uri': None,  # None: an embedded PostgreSQL in state_dir
    'db_pool_size': 10,
    'db_connect_timeout': 2,
    'db_statement_timeout': 2000,
    'state_dir': None,  # None: /var/lib/wazo-like-auth as root, else ~/.local/state/...
    'token_secret': None,  # None: generated once into state_dir/token_secret
    'default_token_lifetime': 7200,
    'max_user_concurrent_sessions': 100,
    'token_cleanup_interval': 60,
    'token_cleanup_batch_size': 5000,
    'password_hash_rounds': 12,
    'password_hash_concurrency': None,  # None: cores ÷ workers, at least 1
    'validation_cache': True,
    'throttle': {
        'login_failures_per_address': 5,
        'login_failures_per_login': 20,
        'login_window': 900,
        'logins_in_flight': 16,
        'known_address_days': 30,
        'refresh_failures_per_address': 20,
        'unknown_token_checks_per_minute': 600,
        'trusted_networks': ['127.0.0.0/8', '::1/128'],
    },
    'validation_cache_size': 10000,
    'default_user_policy': None,
    'default_policies': {},  # slug -> {acl: [...], description: ...}, config-managed
    'update_policy_on_startup': True,
    'uuid': None,
    'bootstrap_user_on_startup': False,
    'bootstrap_user_username': None,
    'bootstrap_user_password': None,
    'log_level': 'info',
    'log_filename': None,
    # OAuth 2.0 (wazo_like_auth/oauth2): the issuer URL of discovery documents and device
    # verification links; None derives it from each request (scheme://host/api/auth/0.1).
    'public_url': None,
    'clients': [],  # OAuth 2.0 clients declared here (see oauth2/settings.py)
    'oauth2': {
        'device_code_lifetime': 600,
        'device_poll_interval': 5,
        'device_max_failures': 10,  # wrong user codes per address (IPv6: /64) and window
        'device_failure_window': 600,
    },
    # OpenID Connect (wazo_like_auth/oidc): realms at {public base}/realms/{tenant slug}.
    'oidc': {
        'signing_algorithm': 'RS256',  # of keys made by the service (keys rotate --algorithm)
        'signin_session_lifetime': 36000,  # seconds a browser stays signed in
    },
    'log_format': 'plain',
    'access_log': {
        'successful_checks': False,
    },
    'metrics': {
        'enabled': True,
        'allowed_networks': ['127.0.0.0/8', '::1/128'],
    },
    # The audit trail (GET /events): every event is kept this long (an event still waiting
    # for the bus is kept until published); logins are in it, and on the bus only if asked.
    'events': {
        'retention_days': 30,
        'publish_logins': False,
    },
    # Mail (password reset, e-mail confirmation, registration): see mail_settings.py.
    'smtp': {
        'host': None,  # None: no mail is sent (reset requests still answer 204)
        'port': 25,
        'security': 'none',  # none, starttls or tls (implicit TLS, usually port 465)
        'username': None,
        'password': None,
        'timeout': 10,
        'ca_file': None,  # None: the system's CAs verify the server's certificate
        'from_address': 'wazo-like-auth@localhost',
        'from_name': 'wazo-like-auth',
    },
    'mail': {
        'templates_dir': None,  # files here override the packaged templates, one by one
        'password_reset_link': None,  # None: {public_url}/users/password/reset/page?...
        'poll_interval': 5,
        'retry_initial_delay': 10,
        'retry_max_delay': 900,
        'requests_per_address': 3,  # per e-mail address, username or login, per window
        'requests_per_user': 3,
        'requests_per_client': 30,  # per client IP address
        'request_window': 900,
    },
    'password_reset_expiration': 172800,
    'email_confirmation_expiration': 172800,
    'registration': {
        'enabled': False,
    },
    # Events on the bus (bus/settings.py): the outbox always records; publishing is opt-in
    # (the Debian package turns it on).
    'amqp': {
        'enabled': False,
        'uri': 'amqp://guest:guest@localhost:5672/',
        'exchange_name': 'xivo',
        'exchange_type': 'topic',
        'poll_interval': 0.5,
        'retry_initial_delay': 1,
        'retry_max_delay': 30,
    },
}
