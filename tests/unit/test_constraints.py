"""constraints.txt, the one pinned dependency set: `make`, CI and the Debian package build all
install with it, so a requirement of setup.cfg without a pin there would float to whatever the
index serves on the day of the build."""
from __future__ import annotations

import configparser
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r'^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;#]+)$')


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for number, line in enumerate((ROOT / 'constraints.txt').read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        match = PIN.match(line)
        assert match, f'constraints.txt:{number}: {line!r} is not an exact pin (name==version)'
        name = canonicalize_name(match['name'])
        assert name not in pins, f'constraints.txt:{number}: {name} is pinned twice'
        pins[name] = Version(match['version'])
    return pins


def _requirements() -> dict[str, list[Requirement]]:
    """setup.cfg's install_requires and each extra, by section name."""
    setup = configparser.ConfigParser()
    setup.read(ROOT / 'setup.cfg')
    sections = {'install_requires': setup['options']['install_requires']}
    sections.update(setup['options.extras_require'])
    return {section: [Requirement(line) for line in text.splitlines() if line.strip()]
            for section, text in sections.items()}


def test_every_requirement_of_setup_cfg_is_pinned_within_its_range():
    pins = _pins()
    unpinned, outside = [], []
    for section, requirements in _requirements().items():
        for requirement in requirements:
            pinned = pins.get(canonicalize_name(requirement.name))
            if pinned is None:
                unpinned.append(f'{section}: {requirement}')
            elif not requirement.specifier.contains(pinned, prereleases=True):
                outside.append(f'{section}: {requirement} but constraints.txt pins {pinned}')
    assert not unpinned, f'no pin in constraints.txt for {unpinned}'
    assert not outside, outside


def test_the_serving_and_jose_libraries_are_pinned():
    pins = _pins()
    assert pins['granian'] == Version('2.8.9')
    assert pins['joserfc'] == Version('1.8.0')
    assert 'cryptography' in pins  # joserfc's


def test_make_and_the_debian_build_install_with_the_constraints():
    makefile = '\n'.join(line for line in (ROOT / 'Makefile').read_text().splitlines()
                         if not line.lstrip().startswith('#'))
    assert 'pip install --quiet -c constraints.txt' in makefile
    assert not re.search(r'pip install(?! --quiet -c constraints.txt| --quiet --upgrade pip)',
                         makefile)
    assert '--constraint=$(CURDIR)/constraints.txt' in (ROOT / 'debian/rules').read_text()
