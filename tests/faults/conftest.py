"""Fault suites: the real server on loopback, desks' sync engines, and the faults between.

Sizes come from the suite-wide options (tests/conftest.py): ``--fault-rounds``,
``--fault-commands``, ``--fault-examples``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatchdesk.protocol.schemas import IncidentOut
from dispatchdesk.server import ServerSettings
from dispatchdesk.sync.client import ApiClient
from tests.sync.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    anyio_backend,
    db_url,
    other,
    server,
)

#: The server's heartbeat in the fault suites: long enough that a loaded 2-core machine's
#: scheduling is small beside it, short enough that a half-open stream costs little time.
HEARTBEAT = 1.0


@pytest.fixture
def server_settings(db_url: str) -> ServerSettings:  # noqa: F811
    return ServerSettings(db_url=db_url, port=0, heartbeat_seconds=HEARTBEAT)


async def server_incidents(url: str) -> tuple[int, dict[int, IncidentOut]]:
    """The server's cursor and incidents, read directly (no proxy)."""
    client = ApiClient(url)
    try:
        await client.sign_in("bob", PASSWORD)
        snap = await client.snapshot()
    finally:
        await client.aclose()
    return snap.cursor, {i.id: i for i in snap.incidents}


def cache_path(tmp_path: Path, name: str) -> Path:
    return tmp_path / name / "cache.sqlite3"
