"""Settings a force's IT sets centrally, overridden per user, overridden on the command line.

Read in order, later wins:
1. ``/etc/dispatchdesk/config.toml`` (or ``$DISPATCHDESK_SYSTEM_CONFIG``): system-wide;
2. ``<user config dir>/config.toml`` (``~/.config/dispatchdesk/config.toml`` on Linux);
3. command-line options.

Keys: ``server_url``, ``server_urls`` (several API nodes of one backend, tried in order: the
desk fails over to the next when one stops answering; it replaces ``server_url``),
``ca_bundle`` (path to PEM file for a private CA), ``theme`` (``normal`` or
``high-contrast``), ``max_command_age_minutes``, ``data_dir``.
A key in ``[locked]`` in the system file cannot be overridden by the user file
(``server_url`` and ``server_urls`` lock each other: they name the same thing).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from dispatchdesk.app.paths import config_dir

SYSTEM_CONFIG = Path("/etc/dispatchdesk/config.toml")


@dataclass(frozen=True)
class Config:
    server_url: str | None = None
    #: Several API nodes of one backend, in the order they are tried (replaces server_url).
    server_urls: tuple[str, ...] = ()
    ca_bundle: str | None = None
    theme: str = "normal"
    max_command_age_minutes: int = 10
    data_dir: str | None = None
    #: The files that were read, system-wide first (shown in the settings dialog).
    sources: tuple[str, ...] = ()
    #: Keys the system file locks against per-user override.
    locked: frozenset[str] = frozenset()


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _apply(config: Config, values: dict[str, Any], source: Path, locked: set[str]) -> Config:
    known = {f.name: f.type for f in fields(Config)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("locked", "sources"):
            continue
        if key not in known:
            raise ConfigError(f"{source}: unknown setting {key!r} (known: {', '.join(known)})")
        if key in locked or (key in _SERVER_KEYS and locked & _SERVER_KEYS):
            continue
        if key == "theme" and value not in ("normal", "high-contrast"):
            raise ConfigError(f"{source}: theme must be 'normal' or 'high-contrast'")
        if key == "max_command_age_minutes" and (not isinstance(value, int) or value < 1):
            raise ConfigError(f"{source}: max_command_age_minutes must be a whole number >= 1")
        if key == "server_urls":
            if not (
                isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
            ):
                raise ConfigError(f"{source}: server_urls must be a list of server URLs")
            value = tuple(value)
        changes[key] = value
    return replace(config, **changes)


#: Keys that name the backend: locking one locks both.
_SERVER_KEYS = frozenset({"server_url", "server_urls"})


def server_urls(config: Config, command_line: Sequence[str] | None = None) -> tuple[str, ...]:
    """The backend's URLs, in the order to try: the command line's ``--server`` (each one
    given), else ``server_urls``, else ``server_url``; none for the embedded demo backend."""
    if command_line:
        return tuple(command_line)
    if config.server_urls:
        return config.server_urls
    return (config.server_url,) if config.server_url else ()


def load_config(system: Path | None = None, user: Path | None = None) -> Config:
    system = system or Path(os.environ.get("DISPATCHDESK_SYSTEM_CONFIG", SYSTEM_CONFIG))
    user = user or config_dir() / "config.toml"
    system_values = _read(system)
    locked_values = system_values.get("locked", {})
    user_values = _read(user)
    config = _apply(Config(), system_values, system, set())
    config = _apply(config, locked_values, system, set())
    config = _apply(config, user_values, user, set(locked_values))
    sources = tuple(str(p) for p, v in ((system, system_values), (user, user_values)) if v)
    return replace(config, sources=sources, locked=frozenset(locked_values))
