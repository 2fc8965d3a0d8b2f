"""Checks shared by the configuration's value tables (config_values.py, bus/settings.py,
mail_settings.py): each returns the value or raises ValueError with a message that
config.validate prefixes with the key's name. The rules between keys raise RequiredBy (a
ValueError) for a key missing for another one's sake."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class RequiredBy(ValueError):
    """A rule between two keys is broken: ``key`` must be set because ``by`` is. The message
    is 'KEY: must be set when BY is[ DETAIL]'; config.load_config prefixes it with the source
    that set ``by`` (none set ``key``: it is missing)."""

    def __init__(self, key: str, by: str, detail: str = ''):
        super().__init__(f'{key}: must be set when {by} is' + (f' {detail}' if detail else ''))
        self.by = by


def required_together(first: tuple[str, Any], second: tuple[str, Any]) -> None:
    """Two (key, value) pairs set together or not at all: raises RequiredBy naming the key
    missing when the other one is set."""
    (first_key, first_value), (second_key, second_value) = first, second
    if first_value and not second_value:
        raise RequiredBy(second_key, first_key)
    if second_value and not first_value:
        raise RequiredBy(first_key, second_key)


def strict_boolean(value: Any) -> bool:
    """A YAML true or false, nothing else."""
    if not isinstance(value, bool):
        raise ValueError('must be true or false')
    return value


def one_of(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f'must be one of {", ".join(choices)}')
        return value
    return check
