"""Where Dispatch Desk keeps its files (platformdirs), made private to the operator's account."""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

APP_NAME = "dispatchdesk"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The per-user data directory (cache, demo backend), 0700."""
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))
    return private_dir(path)


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def private_dir(path: Path) -> Path:
    """Create ``path`` if needed and make it readable by this account only.

    Cached incidents name victims and addresses: other accounts on a shared workstation must
    not read them.
    """
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def cache_file(base: Path, server_url: str | None) -> Path:
    """One cache per backend, so that switching servers never mixes their data."""
    slug = "demo" if server_url is None else re.sub(r"[^A-Za-z0-9.-]+", "_", server_url)
    return private_dir(base / "cache") / f"{slug.strip('_')}.sqlite3"


def default_server_db(base: Path) -> str:
    """SQLite URL of the reference server's database when ``--db`` is not given."""
    return f"sqlite:///{private_dir(base / 'server') / 'dispatchdesk-server.db'}"
