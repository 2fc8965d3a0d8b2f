"""How a login string is compared with usernames and e-mail addresses: case-insensitively, as
Python lowers Unicode (admin spec §1.2), in a database whose lower() may know ASCII only (the
embedded one runs in the C locale: its lower() keeps 'É'). One rule for the uniqueness check
(users.login_taken) and for every lookup of a login, so a login taken is a login that logs in.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, func, literal

from ..usernames import DOTTED_CAPITAL_I, capitals_of

Match = tuple[Callable[..., ColumnElement[bool]], Callable[[str], bool]]


def login_passes(login: str) -> tuple[Match, ...]:
    """(condition on a column, check of its value) pairs, tried in turn: the login as
    PostgreSQL lowers it (an index lookup; at most one row per table, the unique indexes' own
    view), then, for a login outside ASCII, as Python lowers both sides (``unicode_lowered``,
    the value checked in Python). The first pass that finds a user wins, e-mails before
    usernames within a pass: a login as written never reaches another user whom only the
    Unicode lowering makes equal ('Élise' stays Élise's, not 'élise''s)."""
    key = login.lower()
    typed = (lambda column: func.lower(column) == func.lower(literal(login)), lambda _: True)
    if login.isascii():
        # Python and PostgreSQL lower ASCII alike: the first pass said all, but for a stored
        # Kelvin sign (which login_taken counts as 'k'): not worth a scan of every user for
        # every unknown login holding a 'k'. Such a login logs in as written.
        return (typed,)
    return typed, (lambda column: unicode_lowered(column, key),
                   lambda value: value.lower() == key)


def unicode_lowered(column, key: str) -> ColumnElement[bool]:
    """``column`` lowered as Python would lower it equals ``key`` (a login lowered by
    Python), or nearly: a superset the caller narrows with ``value.lower() == key``. The
    capitals Python lowers to a character of ``key`` are translated in SQL and PostgreSQL
    lowers the rest (ASCII); 'İ' lowers to two characters. 'Σ' lowers to 'σ' or, ending a
    word, to 'ς': both are compared as 'σ' here, and told apart by the caller's check.
    No index serves it: it runs only for logins outside ASCII that the first pass missed."""
    wanted = key.replace('ς', 'σ')
    capitals, targets = capitals_of(wanted)
    if 'σ' in wanted:
        capitals, targets = capitals + 'ς', targets + 'σ'
    value = column
    if DOTTED_CAPITAL_I[1] in key:
        value = func.replace(value, *DOTTED_CAPITAL_I)
    return func.lower(func.translate(value, capitals, targets)) == wanted


def typed_first(column, login: str) -> ColumnElement[bool]:
    """An ORDER BY term putting first the row ``login`` names as PostgreSQL lowers it."""
    return func.lower(column) != func.lower(literal(login))
