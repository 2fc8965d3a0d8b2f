"""etc/wazo-like-auth/config.yml against the defaults: README "Configuration" promises that the
file lists every key with its default and what it does."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from wazo_like_auth.config_defaults import DEFAULTS

CONFIG_YML = Path(__file__).resolve().parents[2] / 'etc' / 'wazo-like-auth' / 'config.yml'
# Mappings whose content is the operator's own (policy slugs), not keys of ours.
FREE_FORM = {'default_policies'}


def documented_keys() -> list[str]:
    """Every key of DEFAULTS as `section.key`, down to the second level."""
    keys = []
    for key, value in DEFAULTS.items():
        keys.append(key)
        if isinstance(value, dict) and key not in FREE_FORM:
            keys.extend(f'{key}.{sub}' for sub in value)
    return keys


@pytest.mark.parametrize('key', documented_keys())
def test_config_yml_shows_every_key_with_its_default(key):
    text = CONFIG_YML.read_text()
    *section, name = key.split('.')
    if section:  # `# section:` then, before the next top-level key, `#   name:`
        block = re.search(rf'^# {section[0]}:.*?(?=^# [a-z_]+:|\Z)', text, re.M | re.S)
        assert block, f'config.yml does not show the section {section[0]}'
        text, pattern = block.group(0), rf'^#   {name}:'
    else:
        pattern = rf'^# {name}:'
    assert re.search(pattern, text, re.M), f'config.yml does not show {key}'
