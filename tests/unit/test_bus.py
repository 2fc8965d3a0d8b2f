"""The bus: wazo-auth's wire format of events (shared/spec/wazo-events.md), the broker URI and
the ``amqp:`` configuration."""
from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import yaml

from wazo_like_auth.bus.address import BrokerAddress
from wazo_like_auth.bus.messages import Event, Unsendable, encode, escape_part
from wazo_like_auth.config import ConfigError, load_config
from wazo_like_auth.config_view import public_view

TENANT = uuid.UUID('11111111-1111-4111-8111-111111111111')
USER = uuid.UUID('22222222-2222-4222-8222-222222222222')
SESSION = uuid.UUID('33333333-3333-4333-8333-333333333333')
WHEN = dt.datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=dt.timezone.utc)


def event(**fields) -> Event:
    values = dict(id=42, name='auth_session_deleted',
                  routing_key=f'auth.sessions.{SESSION}.deleted', tenant_uuid=TENANT,
                  user_uuid=USER, session_uuid=SESSION,
                  data={'uuid': str(SESSION), 'user_uuid': str(USER),
                        'tenant_uuid': str(TENANT)}, occurred_at=WHEN)
    return Event(**{**values, **fields})


@pytest.mark.parametrize('part, escaped', [
    ('my.app', 'my__DOT__app'), ('a#b', 'a__HASH__b'), ('*', '__STAR__'),
    ('plain-id_1', 'plain-id_1'), ('x.#*', 'x__DOT____HASH____STAR__')])
def test_routing_key_parts_are_escaped_as_wazo_does(part, escaped):
    assert escape_part(part) == escaped


def test_a_user_event_names_its_user_and_session_in_headers_and_body():
    message = encode(event(), 'origin-1')

    headers = {
        'name': 'auth_session_deleted', 'origin_uuid': 'origin-1',
        'timestamp': WHEN.astimezone().replace(tzinfo=None).isoformat(),
        'required_acl': f'events.auth.sessions.{SESSION}.deleted',
        'required_access': 'event.auth_session_deleted', 'tenant_uuid': str(TENANT),
        f'user_uuid:{USER}': True, 'session_uuid': str(SESSION)}
    assert message.headers == headers
    assert json.loads(message.body) == {**headers, 'data': event().data}
    assert message.routing_key == f'auth.sessions.{SESSION}.deleted'
    assert message.message_id == '42'
    assert message.properties() == {
        'content_type': 'application/json', 'content_encoding': 'utf-8', 'delivery_mode': 2,
        'message_id': '42', 'application_headers': headers}


def test_an_event_of_no_user_is_for_every_user_of_its_tenant():
    tenant_event = event(name='auth_tenant_deleted', routing_key=f'auth.tenants.{TENANT}.deleted',
                         user_uuid=None, session_uuid=None, data={'uuid': str(TENANT)})

    headers = encode(tenant_event, None).headers

    assert headers['user_uuid:*'] is True
    assert not any(key.startswith('user_uuid:') and key != 'user_uuid:*' for key in headers)
    assert 'session_uuid' not in headers and headers['origin_uuid'] is None


def test_the_timestamp_is_local_and_naive():
    stamp = dt.datetime.fromisoformat(encode(event(), None).headers['timestamp'])

    assert stamp.tzinfo is None
    assert stamp == WHEN.astimezone().replace(tzinfo=None)


def test_a_routing_key_over_255_bytes_cannot_be_sent():
    with pytest.raises(Unsendable):
        encode(event(routing_key='a.' + 'é' * 127), None)
    assert encode(event(routing_key='a' * 255), None).routing_key == 'a' * 255


@pytest.mark.parametrize('uri, expected', [
    ('amqp://guest:guest@localhost:5672/', ('localhost', 5672, 'guest', 'guest', '/', False)),
    ('amqp://bus.example.com', ('bus.example.com', 5672, 'guest', 'guest', '/', False)),
    ('amqps://u%40x:p%2Fw@bus:5999/wazo', ('bus', 5999, 'u@x', 'p/w', 'wazo', True)),
    ('amqp://h//', ('h', 5672, 'guest', 'guest', '/', False)),
    ('amqps://h', ('h', 5671, 'guest', 'guest', '/', True)),
])
def test_broker_uris_are_read_as_kombu_reads_them(uri, expected):
    a = BrokerAddress.from_uri(uri)
    assert (a.host, a.port, a.userid, a.password, a.virtual_host, a.ssl) == expected


def load(tmp_path, content: dict) -> dict:
    path = tmp_path / 'config.yml'
    path.write_text(yaml.safe_dump(content))
    return load_config(str(path), environ={})


def test_amqp_defaults_are_wazo_auths_with_publishing_off(tmp_path):
    amqp = load(tmp_path, {})['amqp']

    assert amqp['enabled'] is False
    assert (amqp['uri'], amqp['exchange_name'], amqp['exchange_type']) == (
        'amqp://guest:guest@localhost:5672/', 'xivo', 'topic')


@pytest.mark.parametrize('amqp, key', [
    ({'enabled': 'maybe'}, 'amqp.enabled'), ({'uri': 'http://bus'}, 'amqp.uri'),
    ({'uri': 'amqp://bus:notaport/'}, 'amqp.uri'), ({'exchange_type': 'fast'},
                                                    'amqp.exchange_type'),
    ({'exchange_name': ''}, 'amqp.exchange_name'), ({'poll_interval': 0}, 'amqp.poll_interval'),
    ({'retry_max_delay': 'soon'}, 'amqp.retry_max_delay')])
def test_bad_amqp_values_stop_start_up_naming_the_key(tmp_path, amqp, key):
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, {'amqp': amqp})
    assert f'config.yml: {key}: ' in str(raised.value)


def test_the_origin_uuid_comes_from_xivo_uuid(tmp_path):
    path = tmp_path / 'config.yml'
    path.write_text('uuid: from-file\n')
    assert load_config(str(path), environ={'XIVO_UUID': 'from-env'})['uuid'] == 'from-env'


def test_public_view_masks_the_broker_password(tmp_path):
    config = load(tmp_path, {'amqp': {'uri': 'amqp://wazo:s3cr3t@bus.example.com:5672/'}})

    shown = public_view(config)['amqp']['uri']

    assert 's3cr3t' not in shown
    assert shown == 'amqp://wazo:********@bus.example.com:5672/'
