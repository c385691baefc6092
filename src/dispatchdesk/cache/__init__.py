"""The client's local cache: SQLite (SQLAlchemy Core) on one worker thread."""

from dispatchdesk.cache.store import (
    CachedState,
    CacheStore,
    OutboxEntry,
    default_cache_dir,
)
from dispatchdesk.cache.worker import CacheWorker

__all__ = ["CacheStore", "CacheWorker", "CachedState", "OutboxEntry", "default_cache_dir"]
