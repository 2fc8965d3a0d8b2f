"""usernames.capitals_of: the capitals a SQL translate() must lower for a login to be compared
as Python lowers it (repositories/login_match.py)."""
from __future__ import annotations

import sys

from wazo_like_auth.usernames import DOTTED_CAPITAL_I, capitals_of


def test_every_capital_python_lowers_to_one_other_character_is_found():
    missing = []
    for code_point in range(0x80, sys.maxunicode + 1):
        capital = chr(code_point)
        lowered = capital.lower()
        if lowered == capital or (capital, lowered) == DOTTED_CAPITAL_I:
            continue
        capitals, targets = capitals_of(lowered)
        if (capital, lowered) not in zip(capitals, targets):
            missing.append(capital)
    assert missing == []


def test_ascii_capitals_are_left_to_the_database_but_the_kelvin_sign_is_not():
    assert capitals_of('élise') == ('É', 'é')
    assert capitals_of('kate') == ('\u212a', 'k')  # the Kelvin sign
    assert capitals_of('bob') == ('', '')
