"""An example application using wazo_like_auth.client.

The first run logs in with the password (prompted, or $WAZO_LIKE_AUTH_PASSWORD) asking for a
refresh token, and stores that refresh token in --state-file (mode 0600). Later runs use only
the stored refresh token: the password is never stored nor asked again. Each run then calls the
example backend (contribs/examples/backend_service.py) --count times; the client renews the
access token on its own when it nears expiry, and retries once if it was revoked.

    python contribs/examples/app_client.py --username alice --count 3
"""
from __future__ import annotations

import argparse
import getpass
import os
import pathlib
import sys
import time

from wazo_like_auth.client import AuthClient, AuthError

DEFAULT_STATE = pathlib.Path.home() / '.config' / 'wazo-like-auth-example' / 'refresh_token'


def make_client(args: argparse.Namespace) -> AuthClient:
    """A client from the stored refresh token, else from the password (offline login)."""
    options = {'client_id': args.client_id, 'expiration': args.expiration}
    stored = _read_secret(args.state_file)
    if stored:
        return AuthClient(args.auth_url, refresh_token=stored, **options)
    password = os.environ.get('WAZO_LIKE_AUTH_PASSWORD') or getpass.getpass()
    client = AuthClient(args.auth_url, username=args.username, password=password,
                        offline=True, **options)
    client.token()
    _write_secret(args.state_file, client.refresh_token)
    return client


def run(args: argparse.Namespace) -> int:
    with make_client(args) as client:
        client.token()
        me = client.token_data['metadata']['uuid']
        for call in range(1, args.count + 1):
            response = client.request('GET', f'{args.backend_url}/users/{me}/profile')
            print(f'call {call}: {response.status_code} {response.text.strip()}')
            if call < args.count:
                time.sleep(args.interval)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--auth-url', default='http://127.0.0.1:9497/0.1')
    parser.add_argument('--backend-url', default='http://127.0.0.1:9500')
    parser.add_argument('--username', default=os.environ.get('USER', ''))
    parser.add_argument('--client-id', default='example-app')
    parser.add_argument('--state-file', type=pathlib.Path, default=DEFAULT_STATE)
    parser.add_argument('--expiration', type=int, default=3600)
    parser.add_argument('--count', type=int, default=1)
    parser.add_argument('--interval', type=float, default=1.0)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except AuthError as error:
        print(f'{type(error).__name__}: {error.message}', file=sys.stderr)
        return 1


def _read_secret(path: pathlib.Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _write_secret(path: pathlib.Path, value: str | None) -> None:
    # Created 0600 from the start: a refresh token is as good as the password for this client.
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as out:
        out.write(f'{value}\n')


if __name__ == '__main__':
    sys.exit(main())
