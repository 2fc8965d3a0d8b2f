"""Basic credentials of POST /token (wazo-token-api §1.1 step 3, spec D5)."""
from __future__ import annotations

import base64

import pytest

from wazo_like_auth.http.credentials import basic_credentials


def basic(raw: bytes) -> str:
    return 'Basic ' + base64.b64encode(raw).decode('ascii')


def test_login_and_password_are_read():
    assert basic_credentials(basic(b'alice:s3cret')) == ('alice', 's3cret')


def test_utf8_payload_is_decoded():
    assert basic_credentials(basic('élise:pässwörd€'.encode())) == ('élise', 'pässwörd€')


def test_payload_that_is_not_utf8_is_read_as_latin1():
    assert basic_credentials(basic('élise:pässwörd'.encode('latin-1'))) == ('élise', 'pässwörd')


def test_payload_is_split_on_the_first_colon():
    assert basic_credentials(basic(b'alice:pa:ss:word')) == ('alice', 'pa:ss:word')


def test_empty_password_gives_empty_password():
    assert basic_credentials(basic(b'alice:')) == ('alice', '')


def test_empty_login_gives_empty_login():
    assert basic_credentials(basic(b':s3cret')) == ('', 's3cret')


def test_payload_without_colon_gives_no_credentials():
    assert basic_credentials(basic(b'alice')) == ('', '')


@pytest.mark.parametrize('header', [
    'Basic !!!not base64!!!',
    'Basic YWxpY2U6czNjcmV',     # bad length
    'Basic YWxpY2U6c',           # truncated
    'Basic ',
    'Basic',
])
def test_bad_base64_gives_no_credentials(header):
    assert basic_credentials(header) == ('', '')


@pytest.mark.parametrize('header', [
    None, '', 'Bearer YWxpY2U6czNjcmV0', 'Digest username="alice"',
    'YWxpY2U6czNjcmV0', 'BasicYWxpY2U6czNjcmV0',
])
def test_other_schemes_give_no_credentials(header):
    assert basic_credentials(header) == ('', '')


def test_scheme_is_case_insensitive():
    assert basic_credentials('basic ' + base64.b64encode(b'alice:s3cret').decode()) == \
        ('alice', 's3cret')
