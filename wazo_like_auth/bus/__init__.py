"""The message bus (AMQP 0-9-1, RabbitMQ) as wazo-auth speaks it: the wire format of events
(``messages``), the publishing connection with publisher confirms (``amqp``) and the ``amqp:``
configuration (``settings``). No database here: the outbox and its publisher are
``repositories.event_outbox`` and ``services.event_publisher``."""
