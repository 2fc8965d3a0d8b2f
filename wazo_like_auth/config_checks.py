"""Checks shared by the configuration's value tables (config_values.py, bus/settings.py,
mail_settings.py): each returns the value or raises ValueError with a message that
config.validate prefixes with the key's name."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


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
