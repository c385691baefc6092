"""What the desk does at start to keep its memory down (issue 14: 50,000 incidents): the cache
is read once, source lines PySide6 made linecache keep are dropped, and httpx's command-line
client (click, rich, pygments) is never imported."""

from __future__ import annotations

import linecache
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import qasync

from dispatchdesk.app.config import Config
from dispatchdesk.app.desk import Desk
from dispatchdesk.app.paths import cache_file
from dispatchdesk.cache.store import CacheStore
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.roles import Role
from tests.bench.common import incidents

from .test_desk import loop  # noqa: F401  (fixture)

URL = "http://127.0.0.1:9"  # nothing listens: the backend is down


def test_the_cache_is_read_once_and_source_lines_are_dropped(
    loop: qasync.QEventLoop,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = datetime.now(UTC)
    store = CacheStore(cache_file(tmp_path, URL))
    store.replace_snapshot(incidents(30, now=now), DEFAULT_POLICY, 7, now)
    store.close()
    loads: list[int] = []
    real_load = CacheStore.load

    def counted(self: CacheStore, now: datetime | None = None) -> object:
        state = real_load(self, now)
        loads.append(len(state.incidents))
        return state

    monkeypatch.setattr(CacheStore, "load", counted)
    # A file PySide6's import hook would have read: linecache holds it until told otherwise.
    linecache.cache["/nowhere/read_by_pyside.py"] = (3, None, ["a\n", "b\n"], "x")

    async def shift() -> None:
        desk = Desk(
            Config(), server_url=URL, demo_role=Role.DISPATCHER, demo_rate=1, base_dir=tmp_path
        )
        await desk.open()
        assert desk.window is not None and desk.engine is not None
        await desk.engine.cache_shown()
        assert loads == [30], "the load that proves the cache readable is the one shown"
        assert desk.window.proxy.rowCount() == 30
        assert desk.engine.cursor == 7
        assert "/nowhere/read_by_pyside.py" not in linecache.cache
        await desk.shutdown()

    loop.run_until_complete(shift())


def test_the_sync_client_does_not_import_httpx_command_line_tools() -> None:
    code = (
        "import sys\n"
        "import dispatchdesk.cache.store, dispatchdesk.sync.engine\n"
        "import httpx\n"
        "assert httpx.AsyncClient and callable(httpx.main)\n"
        "loaded = sorted(m for m in ('rich', 'click', 'pygments') if m in sys.modules)\n"
        "print(','.join(loaded) or 'none')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "none"


def test_the_desk_does_not_import_rapidfuzz_until_a_rationale_is_compared() -> None:
    code = (
        "import sys\n"
        "import dispatchdesk.app.desk\n"
        "before = 'rapidfuzz' in sys.modules\n"
        "from dispatchdesk.domain.rationale import similarity\n"
        "assert similarity('no further action was needed', 'no further action was needed') == 1\n"
        "print(before, 'rapidfuzz' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.stdout.strip() == "False True"
