"""What a request says about its client that the service keeps (with a session, in the
login trail)."""
from __future__ import annotations

from flask import request

# A browser's User-Agent is a few hundred characters. Kept whole, a client chose the size of
# what it left behind: a token's row, its cached check (about 60 KB an entry, 600 MB of a
# worker's cache filled by one user logging in with a 30 KB header).
MAX_USER_AGENT = 512


def user_agent() -> str:
    """The request's User-Agent, at most MAX_USER_AGENT characters ('' without one)."""
    return request.headers.get('User-Agent', '')[:MAX_USER_AGENT]
