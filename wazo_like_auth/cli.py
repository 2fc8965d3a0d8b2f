"""Console entry point: ``wazo-like-auth serve | check-config | upgrade-db | bootstrap |
keys rotate | keys list | keys retire``. Exit status: 0, 1 (a problem the command met), 2 (an
invalid configuration)."""
from __future__ import annotations

import argparse
import sys

from . import config as configuration
from . import logs
from .logs import get_logger

logger = get_logger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='wazo-like-auth',
                                     description='Wazo-compatible authentication service')
    commands = parser.add_subparsers(dest='command', required=True)
    serve = commands.add_parser('serve', help='run the HTTP service')
    check = commands.add_parser('check-config', help='check the configuration as serve would, '
                                'starting nothing: exit 2 and one line when it is invalid')
    upgrade = commands.add_parser('upgrade-db', help='migrate the database to the newest schema')
    bootstrap = commands.add_parser('bootstrap', help='create or reset a full-access user')
    bootstrap.add_argument('--username', required=True)
    bootstrap.add_argument('--password', required=True,
                           help='the password, or - to read it from standard input '
                                '(keeps it out of the process list)')
    signing_keys = commands.add_parser('keys', help='OpenID Connect signing keys')
    key_commands = signing_keys.add_subparsers(dest='action', required=True)
    rotate = key_commands.add_parser(
        'rotate', help='add a signing key, published at once, signing once caches of certs '
                       'expire (5 minutes); older keys retire when their last token expires')
    rotate.add_argument('--algorithm', choices=('RS256', 'ES256'),
                        help='default: oidc.signing_algorithm of the configuration')
    rotate.add_argument('--now', action='store_true',
                        help='sign with the new key at once (verifiers holding an older certs '
                             'reject its tokens until they fetch it again)')
    listing = key_commands.add_parser('list', help='the published keys and their state')
    retire = key_commands.add_parser(
        'retire', help='remove a (leaked) key at once: off certs, no longer signing, the '
                       'access tokens it signed revoked; a retired signing key is replaced')
    retire.add_argument('kid', nargs='?', help='the key id (keys list)')
    _add_common_options([('serve', serve), ('check-config', check), ('upgrade-db', upgrade),
                         ('bootstrap', bootstrap), ('keys', rotate), ('keys', listing),
                         ('keys', retire)])
    serve.add_argument('--listen', help='address to listen on')
    serve.add_argument('--port', type=int, help='port to listen on')
    serve.add_argument('--workers', type=int, help='number of worker processes')
    return parser


# What --db-uri and --state-dir mean to each subcommand: only serve embeds a PostgreSQL.
_NEEDS_DB_URI = ('PostgreSQL URI, needed unless db_uri (configuration) or '
                 'WAZO_LIKE_AUTH_DB_URI sets one: this command never uses an embedded PostgreSQL')
_SECRETS_DIR = ('state directory, where token_secret is read (or created) when the '
                'configuration sets none')
_OPTION_HELP = {
    'serve': ('PostgreSQL URI (default: db_uri of the configuration or WAZO_LIKE_AUTH_DB_URI, '
              'else an embedded PostgreSQL in the state directory)',
              'state directory (the embedded PostgreSQL, token_secret, first credentials)'),
    'check-config': ('PostgreSQL URI to check as serve would use it (nothing connects)',
                     'state directory to check as serve would use it'),
    'upgrade-db': (_NEEDS_DB_URI, 'not used by upgrade-db (accepted, checked as a value)'),
    'bootstrap': (_NEEDS_DB_URI, _SECRETS_DIR),
    'keys': (_NEEDS_DB_URI, _SECRETS_DIR + ' (it encrypts the private signing keys)'),
}


def _add_common_options(parsers: list[tuple[str, argparse.ArgumentParser]]) -> None:
    """--config, --db-uri and --state-dir on each (subcommand, parser), with the help
    _OPTION_HELP gives that subcommand."""
    for name, sub in parsers:
        db_uri, state_dir = _OPTION_HELP[name]
        sub.add_argument('--config', help='configuration file (default: %s when it exists)'
                         % configuration.DEFAULT_CONFIG_FILE)
        sub.add_argument('--db-uri', help=db_uri)
        sub.add_argument('--state-dir', help=state_dir)


def _flags(args: argparse.Namespace) -> dict:
    flags: dict = {}
    for name in ('db_uri', 'state_dir'):
        if getattr(args, name, None) is not None:
            flags[name] = getattr(args, name)
    rest = {key: getattr(args, key) for key in ('listen', 'port', 'workers')
            if getattr(args, key, None) is not None}
    if rest:
        flags['rest_api'] = rest
    return flags


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if getattr(args, 'kid', False) is None:  # keys retire
        # A kid is base64url: one beginning with '-' reads as an unknown option to argparse.
        if len(unknown) != 1:
            parser.error('keys retire: the key id (keys list) is required, once')
        args.kid, unknown = unknown[0], []
    if unknown:
        parser.error(f'unrecognized arguments: {" ".join(unknown)}')
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        config = configuration.load_config(args.config, flags=_flags(args))
    except configuration.ConfigError as e:
        print(f'wazo-like-auth: configuration error: {e}', file=sys.stderr)
        return 2
    with logs.restored():  # main() may run inside another program: a test, a script
        try:
            logs.setup_logging(config)
        except OSError as e:  # its folder missing or not writable by this user
            print(f'wazo-like-auth: configuration error: log_filename: cannot open '
                  f'{config["log_filename"]}: {e.strerror}', file=sys.stderr)
            return 2
        return _run(args, config)


def _run(args: argparse.Namespace, config: dict) -> int:
    from . import commands, key_commands
    command = (key_commands.keys if args.command == 'keys'
               else getattr(commands, args.command.replace('-', '_')))
    try:
        return command(config, args)
    except commands.CommandError as e:
        print(f'wazo-like-auth: {e}', file=sys.stderr)
        return e.status


if __name__ == '__main__':
    sys.exit(main())
