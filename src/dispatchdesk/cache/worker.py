"""The one thread that owns the cache.

SQLite and SQLAlchemy calls block; the event loop (the GUI thread under qasync) must not. A
:class:`CacheWorker` runs every cache call on a single worker thread, in submission order, and
``await worker.call(fn, *args)`` resumes the caller on the loop with the result (or exception).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from dispatchdesk.cache.store import CacheStore

P = ParamSpec("P")
T = TypeVar("T")


class CacheWorker:
    """Owns ``store`` and runs calls on it one at a time on one thread (FIFO)."""

    def __init__(self, store: CacheStore) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispatchdesk-cache")
        self._closed = False

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` on the worker thread without blocking the loop.

        A call already started runs to completion (its transaction commits or rolls back) even
        if the awaiting task is cancelled.
        """
        if self._closed:
            raise RuntimeError("the cache worker is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Finish queued calls, then close the store. Call after the sync engine has stopped."""
        if self._closed:
            return
        self._closed = True
        self._executor.submit(self.store.close)
        self._executor.shutdown(wait=True)
