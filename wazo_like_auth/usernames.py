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
