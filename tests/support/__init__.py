"""What the tests share, imported as a library (never from a conftest).

- ``postgres``: the throw-away PostgreSQL server (testing.postgresql, privileges dropped).
- ``database``: pytest plugin — the session PostgreSQL, its migrated engine, per-test cleanup
  derived from the schema, ``sessions``, ``top_tenant``, ``make_user``.
- ``fixtures``: pytest plugin — ``clock`` (a ManualClock), ``config``, ``app``, ``client``,
  ``services``, ``login``.
- ``oauth_live``: pytest plugin — the app served over real HTTP for OAuth 2.0 client libraries.
- ``group_fixtures``: pytest plugin — a child tenant and an all-users group.
- ``admin_client``: pytest plugin — ``admin``, an AdminClient logged in with full access.
- ``rabbitmq``: pytest plugin — ``rabbitmq`` (the session's RabbitMQ, Debian's server run
  unprivileged), ``own_rabbitmq`` (one to stop and restart), ``consumer`` (a kombu consumer
  of the ``xivo`` exchange); ``BusConsumer``.
- ``bus_events``: pytest plugin — ``publisher`` (the event publisher on that broker),
  ``bus_settings``, ``received`` (waiting for an event among what a consumer got).
- ``security_review``: pytest plugin — ``service_log`` (the real log output) and helpers.
- ``envelope``: the error envelope (spec D4), ``ENVELOPE_KEYS`` and ``assert_envelope``.
- ``polling``: ``wait_until``, the one polling loop.
- ``apps``: ``running_app`` (an app with a config of its own, stopped afterwards).
- ``credentials``: ``basic`` (HTTP Basic headers).
- ``clock``: ``ManualClock``, the time tests move instead of sleeping.
- ``live_server``, ``offline_access``, ``served``: HTTP helpers (``served``: the service as a
  process, for the end-to-end tests).

The plugins are registered once, by ``pytest_plugins`` in ``tests/conftest.py``.
"""
