"""The server secret (spec D3): configured as ``token_secret``, else kept in a file of
``state_dir``, created once."""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import tempfile
from pathlib import Path

from .config import ConfigError
from .config_values import secret


def token_secret(config: dict) -> bytes:
    """The server secret: from config, else read from (or created once in) state_dir.

    Created with mode 0600, complete or not at all (a full disk leaves no empty file). It
    derives refresh-token values (spec D3): losing or rotating it invalidates every refresh
    token. Raises ConfigError naming the file when it holds no valid secret, or state_dir
    when the file cannot be created or read there.
    """
    if config['token_secret']:
        return config['token_secret'].encode('utf-8')
    return _state_secret(config, create=True)


def check_token_secret(config: dict) -> None:
    """Raise the ConfigError token_secret would raise: for the secret file already in
    state_dir, or, with none there, for a state_dir where it could not be created. Creates
    nothing."""
    if not config['token_secret']:
        _state_secret(config, create=False)


def _ensure_creatable(directory: Path) -> None:
    """Raise the OSError that making ``directory`` (with its parents) and a file in it would
    raise, making nothing: its nearest existing ancestor must be a directory we may write."""
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(existing))


def _state_secret(config: dict, *, create: bool) -> bytes:
    path = Path(config['state_dir']) / 'token_secret'
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                _create_secret_file(path)
        elif not path.exists():
            _ensure_creatable(path.parent)
            return b''
        value = path.read_text().strip()
    except OSError as e:
        raise ConfigError(f"state_dir {config['state_dir']}: cannot keep token_secret there: "
                          f"{e.strerror}" + (f': {e.filename}' if e.filename else '')) from None
    try:
        return secret(value).encode('utf-8')
    except ValueError as e:
        raise ConfigError(f'{path}: {e}; delete it to generate a new one (every refresh token '
                          f'then becomes invalid)') from None


def _create_secret_file(path: Path) -> None:
    """Write a new secret beside ``path``, then link it there: whoever links first (another
    process may be creating it too) wins, and a reader never sees it half written."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix='.token_secret.')
    try:
        with os.fdopen(fd, 'w') as f:  # mkstemp: mode 0600
            f.write(secrets.token_hex(32) + '\n')
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
