"""What a username may be (auth_user.username): the one rule that ``ensure_admin``
(services/bootstrap.py) enforces and the configuration checks apply beforehand to
``bootstrap_user_username`` (config_values.py), so that check-config refuses what serve would."""
from __future__ import annotations

MAX_USERNAME_LENGTH = 256  # auth_user.username, as the API's user schemas allow


def username_error(username: str) -> str | None:
    """Why no login can name ``username`` ('must be ...'), None when one can. Refused: empty
    (an unset shell variable), over MAX_USERNAME_LENGTH characters, a NUL or a lone surrogate
    (a YAML escape, an argument that is not UTF-8), neither of which PostgreSQL's text holds."""
    if not 0 < len(username) <= MAX_USERNAME_LENGTH or '\x00' in username \
            or not _is_utf8(username):
        return (f'must be 1 to {MAX_USERNAME_LENGTH} characters without NUL or lone '
                'surrogate')
    return None


def _is_utf8(text: str) -> bool:
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


# Characters Python lowers to one other character without being that character's upper or
# title case (a unit test checks the table against every code point of the running Python).
# 'İ' is not here: it lowers to two characters, 'i' and a combining dot above.
_OTHER_CAPITALS = {'\u03b8': '\u03f4', '\u00df': '\u1e9e', '\u03c9': '\u2126',  # θϴ ßẞ ωΩ
                   'k': '\u212a', '\u00e5': '\u212b'}  # k and the Kelvin sign, å Å
DOTTED_CAPITAL_I = ('\u0130', 'i\u0307')  # İ


def capitals_of(lowered: str) -> tuple[str, str]:
    """(capitals, their lower case): every character outside ASCII that Python lowers to one
    character of ``lowered`` (a string lowered by Python), each beside the character it
    lowers to, for a SQL translate() that lowers what a C-locale lower() leaves alone."""
    capitals, targets = [], []
    for char in sorted(set(lowered)):
        for capital in sorted({char.upper(), char.title(), _OTHER_CAPITALS.get(char, char)}):
            if len(capital) == 1 and capital != char and not capital.isascii() \
                    and capital.lower() == char:
                capitals.append(capital)
                targets.append(char)
    return ''.join(capitals), ''.join(targets)
