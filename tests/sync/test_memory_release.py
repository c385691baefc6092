"""Memory freed by reading the cached warnings goes back to the system before the flags are
computed on top of it (issue 14: the desk's peak at 100,000 schemes and 100,000 orders)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatchdesk.cache import CacheStore, CacheWorker
from dispatchdesk.sync import engine as engine_module
from dispatchdesk.sync.memory import release_freed_memory

from .conftest import Recorder
from .test_engine import make_engine

pytestmark = pytest.mark.anyio


def test_glibc_gives_freed_memory_back() -> None:
    assert release_freed_memory() is True  # Linux with glibc, as CI and the control rooms run


async def test_released_once_the_index_is_filed_and_before_it_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = CacheWorker(CacheStore(tmp_path / "cache.sqlite3"))
    rec = Recorder()
    engine = make_engine("http://127.0.0.1:9", worker, rec)
    seen: list[tuple[bool, int]] = []
    empty = engine._ctx.entities.index

    def released() -> bool:
        filed = engine._ctx.entities.index is not empty  # the cache's, filed
        seen.append((filed, rec.warning_calls))
        return True

    monkeypatch.setattr(engine_module, "release_freed_memory", released)
    try:
        await engine.show_cache()
        await engine.cache_shown()
        assert seen == [(True, 0)], "once, after filing, before the listener is told"
        assert rec.warning_calls == 1
    finally:
        await engine.stop()
        worker.close()
