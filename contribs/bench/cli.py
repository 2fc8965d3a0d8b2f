"""``python -m contribs.bench``: options, the run, the report on stdout and in RESULTS.md."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from . import report as reporting
from .runner import Options, quick, run

DEFAULT_OUTPUT = Path(__file__).resolve().parent / 'RESULTS.md'


def _levels(value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in value.split(',') if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError('a comma-separated list of integers') from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError('at least one level, each at least 1')
    return levels


def _positive(kind):
    def check(value: str):
        number = kind(value)
        if number <= 0:
            raise argparse.ArgumentTypeError('must be positive')
        return number
    return check


def _non_negative(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError('must not be negative')
    return number


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog='python -m contribs.bench', description=(
        'Load-test wazo-like-auth (real granian, loopback only) against bare 204 ceilings.'))
    p.add_argument('--duration', type=_positive(float), help='measured seconds per scenario '
                   '(default 10)')
    p.add_argument('--warmup', type=_non_negative, help='discarded seconds before each (default 2)')
    p.add_argument('--concurrency', type=_levels, help='connection counts (default 8,64)')
    p.add_argument('--scale', type=lambda v: int(_non_negative(v)),
                   help='preload N live + N expired tokens, measure checks and the purge '
                   '(default 200000; 0 skips)')
    p.add_argument('--nodes', type=_positive(int), help='service nodes on one database; 2+ '
                   'measures revocation propagation (default 2; 1 skips)')
    p.add_argument('--revocations', type=_positive(int), help='revocations timed with '
                   '--nodes (default 100)')
    p.add_argument('--db-uri', help='PostgreSQL to use (default: embedded, thrown away)')
    p.add_argument('--rounds', type=_positive(int),
                   help='bcrypt cost, password_hash_rounds (default 12)')
    p.add_argument('--workers', type=_positive(int), help='granian workers (default: the '
                   "service's own default)")
    p.add_argument('--threads', type=_positive(int), help='threads per worker (default: the '
                   "service's own default)")
    p.add_argument('--generator', choices=('auto', 'wrk', 'bundled'),
                   help='load generator (default auto: wrk when installed)')
    p.add_argument('--no-validation-cache', dest='validation_cache', action='store_false',
                   default=None, help='run the service with validation_cache: false')
    p.add_argument('--quick', action='store_true', help='a smoke run: 1 s per scenario, '
                   'warm-up 0.2 s, concurrency 2, scale 1000, bcrypt cost 4')
    p.add_argument('--output', type=Path, help=f'Markdown file the run is appended to '
                   f'(default {DEFAULT_OUTPUT.relative_to(DEFAULT_OUTPUT.parents[2])})')
    return p


def options_from(argv: list[str]) -> Options:
    args = _parser().parse_args(argv)
    given = {name for name, value in vars(args).items()
             if value is not None and name not in ('quick', 'output')}
    values = {name: getattr(args, name) for name in given}
    options = Options(command=shlex.join(['python', '-m', 'contribs.bench', *argv]),
                      output=args.output or DEFAULT_OUTPUT, **values)
    return quick(options, given) if args.quick else options


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    options = options_from(argv)
    result = run(options)
    text = reporting.render(result)
    print('\n' + text, flush=True)
    if options.output:
        reporting.append(options.output, text)
        print(f'appended to {options.output}')
    return 0
