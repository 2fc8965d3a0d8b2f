"""HTTP Basic credentials, decoded by hand (wazo-token-api §1.1 step 3).

Malformed headers never raise: they give empty credentials, which fail as any bad login does.
"""
from __future__ import annotations

import base64
import binascii


def basic_credentials(header: str | None) -> tuple[str, str]:
    """(login, password) from an ``Authorization: Basic`` header; ('', '') if unusable.

    The payload is UTF-8, else Latin-1, split on the first colon.
    """
    if not header or not header[:6].lower() == 'basic ':
        return '', ''
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return '', ''
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        text = raw.decode('latin-1')
    login, colon, password = text.partition(':')
    if not colon:
        return '', ''
    return login, password
