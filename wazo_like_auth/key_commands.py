"""``wazo-like-auth keys rotate | list | retire``: the signing keys of ID tokens and JWT
access tokens, shared by every node through the database."""
from __future__ import annotations

import argparse
import datetime as dt

from . import db, server
from .commands import CommandError, database_errors


def keys(config: dict, args: argparse.Namespace) -> int:
    """``keys rotate | list | retire``: the signing keys of ID tokens and JWT access tokens,
    shared by every node through the database."""
    if not config['db_uri']:
        raise CommandError(f'keys {args.action} needs db_uri (config, WAZO_LIKE_AUTH_DB_URI '
                           'or --db-uri)')
    with database_errors():
        engine = db.make_engine(config, pool_size=1)
        try:
            db.upgrade(engine)
            signing_keys = server.offline_services(config, engine).oidc.signing_keys
            lines = _KEY_ACTIONS[args.action](signing_keys, args)
        finally:
            engine.dispose()
    print('\n'.join(lines))
    return 0


def _when(moment) -> str:
    return moment.astimezone(dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _rotate(signing_keys, args: argparse.Namespace) -> list[str]:
    new = signing_keys.rotate(args.algorithm, now=args.now)
    if new.state == 'signing':
        start = 'it signs from now on'
    else:
        start = (f'it signs from {_when(new.signs_from)}, once caches of certs have it '
                 f'(--now: at once)')
    return [f'signing key {new.kid} ({new.alg}) added and published; {start}; older keys '
            f'retire when their last token expires']


def _list(signing_keys, args: argparse.Namespace) -> list[str]:
    lines = []
    for key in signing_keys.states():
        state = {'published-next': f'published-next, signs from {_when(key.signs_from)}',
                 'retiring': f'retiring until {_when(key.retire_at)}' if key.retire_at
                 else 'retiring when its last token expires'}.get(key.state, key.state)
        lines.append(f'{key.kid}  {key.alg}  created {_when(key.created_at)}  {state}')
    return lines or ['no signing key yet (the first is made when the service first signs)']


def _retire(signing_keys, args: argparse.Namespace) -> list[str]:
    retired = signing_keys.retire(args.kid)
    lines = [f'signing key {retired.kid} retired: removed from certs, '
             f'{retired.tokens} access tokens it signed revoked']
    if retired.successor is not None:
        lines.append(f'signing key {retired.successor.kid} ({retired.successor.alg}) signs '
                     'from now on')
    return lines


_KEY_ACTIONS = {'rotate': _rotate, 'list': _list, 'retire': _retire}
