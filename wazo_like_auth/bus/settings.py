"""The ``amqp:`` configuration (read from the validated config; defaults in config.py).

``enabled``: publish the outbox to the broker. Off, events are still recorded (the audit
trail) but marked not for the bus, so turning publishing on later does not replay old events.
``uri``, ``exchange_name``, ``exchange_type``: where, as wazo-auth's ``amqp`` section.
``poll_interval``: seconds between two outbox scans when idle (the latency of an event).
``retry_initial_delay``, ``retry_max_delay``: backoff while the broker is unreachable.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config_checks import one_of, strict_boolean
from .address import BrokerAddress

EXCHANGE_TYPES = ('topic', 'headers', 'direct', 'fanout')


def _uri(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError('must be an amqp:// or amqps:// URI')
    BrokerAddress.from_uri(value)
    return value


def _exchange_name(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise ValueError('must be a non-empty string of at most 255 characters')
    return value


def _seconds(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not low <= value <= high:
            raise ValueError(f'must be a number of seconds between {low:g} and {high:g}')
        return float(value)
    return check


AMQP_VALIDATORS: dict[tuple[str, ...], Callable[[Any], Any]] = {
    ('amqp', 'enabled'): strict_boolean,
    ('amqp', 'uri'): _uri,
    ('amqp', 'exchange_name'): _exchange_name,
    ('amqp', 'exchange_type'): one_of(*EXCHANGE_TYPES),
    ('amqp', 'poll_interval'): _seconds(0.01, 60),
    ('amqp', 'retry_initial_delay'): _seconds(0.01, 3600),
    ('amqp', 'retry_max_delay'): _seconds(0.01, 3600),
}


@dataclass(frozen=True)
class BusSettings:
    enabled: bool
    uri: str
    exchange_name: str
    exchange_type: str
    poll_interval: float
    retry_initial_delay: float
    retry_max_delay: float
    origin_uuid: str | None  # the service's ``uuid`` (XIVO_UUID), the origin_uuid header

    @classmethod
    def from_config(cls, config: dict) -> BusSettings:
        a = config['amqp']
        return cls(enabled=a['enabled'], uri=a['uri'], exchange_name=a['exchange_name'],
                   exchange_type=a['exchange_type'], poll_interval=a['poll_interval'],
                   retry_initial_delay=a['retry_initial_delay'],
                   retry_max_delay=max(a['retry_max_delay'], a['retry_initial_delay']),
                   origin_uuid=config['uuid'])
