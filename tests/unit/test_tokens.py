"""Token values and their at-rest forms (spec D2, D3)."""
from __future__ import annotations

import hashlib
import re
import uuid

import pytest

from wazo_like_auth import tokens

UUID_FORM = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
SAMPLE = '3f2a9c4e-1b7d-0e5f-f6a8-9b0c1d2e3f4a'


def test_new_token_is_lower_case_hex_in_uuid_form():
    for _ in range(100):
        assert UUID_FORM.match(tokens.new_token())


def test_new_tokens_are_unique():
    values = {tokens.new_token() for _ in range(5000)}
    assert len(values) == 5000


@pytest.mark.parametrize('position', [14, 19], ids=['version-nibble', 'variant-nibble'])
def test_new_token_has_no_fixed_uuid_version_or_variant(position):
    """All 128 bits are random: the nibbles a UUIDv4 fixes take every hex value."""
    seen = {tokens.new_token()[position] for _ in range(2000)}
    assert seen == set('0123456789abcdef')


def test_normalize_keeps_a_canonical_value():
    assert tokens.normalize(SAMPLE) == SAMPLE


def test_normalize_lower_cases_an_upper_case_value():
    assert tokens.normalize(SAMPLE.upper()) == SAMPLE
    assert tokens.normalize('3F2A9C4E-1b7d-0E5F-f6a8-9B0C1D2E3F4A') == SAMPLE


@pytest.mark.parametrize('value', [
    '',
    'not-a-token',
    SAMPLE[:-1],                              # too short
    SAMPLE + 'a',                             # too long
    SAMPLE + '\n',
    ' ' + SAMPLE[1:],
    SAMPLE.replace('-', ''),                  # 32 hex digits, no dashes
    '{' + SAMPLE[1:-1] + '}',
    SAMPLE.replace('-', '_'),
    'g' + SAMPLE[1:],                         # not hex
    SAMPLE[:8] + SAMPLE[9] + '-' + SAMPLE[10:],  # dash misplaced
    '\x00' * 36,
    'x' * 10_000,
    '３' + SAMPLE[1:],                         # a non-ASCII digit
])
def test_normalize_refuses_what_cannot_be_a_token(value):
    assert tokens.normalize(value) is None


def test_digest_is_the_sha256_of_the_value():
    assert tokens.token_digest(SAMPLE) == hashlib.sha256(SAMPLE.encode()).digest()
    assert len(tokens.token_digest(SAMPLE)) == 32


def test_digests_of_different_tokens_differ():
    assert tokens.token_digest(SAMPLE) != tokens.token_digest(tokens.new_token())


def test_refresh_token_derivation_is_deterministic():
    row = uuid.uuid4()
    secret = b's' * 32
    assert tokens.derive_refresh_token(secret, row) == tokens.derive_refresh_token(secret, row)


def test_derived_refresh_token_is_in_uuid_form_and_not_the_row_id():
    row = uuid.uuid4()
    value = tokens.derive_refresh_token(b's' * 32, row)
    assert UUID_FORM.match(value)
    assert value != str(row)


def test_derived_refresh_token_depends_on_the_secret():
    row = uuid.uuid4()
    assert tokens.derive_refresh_token(b'a' * 32, row) != tokens.derive_refresh_token(b'b' * 32,
                                                                                         row)


def test_derived_refresh_token_depends_on_the_row():
    secret = b's' * 32
    assert (tokens.derive_refresh_token(secret, uuid.uuid4())
            != tokens.derive_refresh_token(secret, uuid.uuid4()))


def test_redact_keeps_only_the_last_eight_characters():
    redacted = tokens.redact(SAMPLE)
    assert redacted == 'XXXXXXXX-XXXX-XXXX-XXXX-XXXX' + SAMPLE[-8:]
    assert SAMPLE[:28] not in redacted


def test_redact_hides_short_values_entirely():
    assert tokens.redact('abc') == 'XXXXXXXX'
    assert 'abc' not in tokens.redact('abc')


def test_constant_time_equals_compares_values():
    assert tokens.constant_time_equals(SAMPLE, SAMPLE)
    assert tokens.constant_time_equals(SAMPLE, SAMPLE.encode())
    assert not tokens.constant_time_equals(SAMPLE, SAMPLE.upper())
    assert not tokens.constant_time_equals('é', 'e')
