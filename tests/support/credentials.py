"""HTTP Basic credentials as request headers."""
from __future__ import annotations

import base64


def basic(login: str, password: str) -> dict[str, str]:
    raw = f'{login}:{password}'.encode()
    return {'Authorization': 'Basic ' + base64.b64encode(raw).decode()}
