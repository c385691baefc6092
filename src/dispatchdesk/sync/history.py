"""History lookups for the panel: asked of the server (five years of a force's incidents are
not for a desk's disk), the last answer for each open incident kept in the cache so that,
offline, the panel shows it "as of" the time the server gave it, and says plainly when
nothing is held."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from pydantic import ValidationError

from dispatchdesk.cache.history import CachedHistory
from dispatchdesk.cache.store import CacheStore
from dispatchdesk.domain.warnings import Person, Place
from dispatchdesk.protocol.history import HistoryPage
from dispatchdesk.sync.api import HistoryResult
from dispatchdesk.sync.context import SyncContext
from dispatchdesk.sync.errors import (
    ApiError,
    ConnectionLost,
    DeskError,
    MalformedPayload,
    ServerError,
    Unauthorized,
)

log = logging.getLogger(__name__)

#: No answer: the desk falls back on what it holds.
_UNREACHED = (ConnectionLost, ServerError, Unauthorized)


class HistoryQueries:
    """Mixed into :class:`~dispatchdesk.sync.engine.SyncEngine`, which sets ``_ctx``."""

    _ctx: SyncContext

    async def history(self, place: Place | None, persons: Sequence[Person]) -> HistoryResult:
        """The location's history and each person's, asked together (the form)."""
        if place is None and not persons:
            return HistoryResult()
        if not self._ctx.online:
            return HistoryResult(problem=f"{_NOT_NOW_FORM}.")
        client = self._ctx.client
        lookups = [client.history(place=place)] if place is not None else []
        lookups += [client.history(person=p) for p in persons]
        try:
            pages = await asyncio.gather(*lookups)
        except _UNREACHED as exc:
            return HistoryResult(problem=f"{_NOT_NOW_FORM} ({_reason(exc)}).")
        except DeskError as exc:
            return HistoryResult(problem=f"History could not be checked: {_reason(exc)}.")
        return HistoryResult(pages=tuple(pages), as_of=max(p.server_time for p in pages))

    async def incident_history(self, incident_id: int) -> HistoryResult:
        """The incident's history from the server (kept in the cache while the incident is
        open); when the server cannot be asked, the last answer held, marked as such."""
        ctx = self._ctx
        if not ctx.online:
            return await self._cached_history(incident_id, "the server cannot be reached")
        try:
            page = await ctx.client.incident_history(incident_id)
        except _UNREACHED as exc:
            return await self._cached_history(incident_id, _reason(exc))
        except (ApiError, MalformedPayload) as exc:
            return HistoryResult(problem=f"History could not be checked: {_reason(exc)}.")
        try:
            await ctx.worker.call(_save, ctx.store, incident_id, page)
        except Exception:  # the answer is shown all the same; only offline use is lost
            log.exception("history answer for incident %s not cached", incident_id)
        return HistoryResult(pages=(page,), as_of=page.server_time)

    async def _cached_history(self, incident_id: int, why: str) -> HistoryResult:
        ctx = self._ctx
        try:
            held, page = await ctx.worker.call(_load, ctx.store, incident_id)
        except (ValidationError, ValueError, RuntimeError):
            log.exception("cached history of incident %s unreadable", incident_id)
            held, page = None, None
        if held is None or page is None:
            return HistoryResult(
                cached=True,
                problem=f"OFFLINE ({why}): no history is held on this desk for this incident. "
                "Check it when the server answers.",
            )
        return HistoryResult(
            pages=(page,),
            as_of=held.fetched_at,
            cached=True,
            problem=f"OFFLINE ({why}): the last history this desk holds is shown.",
        )


_NOT_NOW_FORM = (
    "History cannot be checked now: the server cannot be reached, and nothing is held on this "
    "desk for a call not yet created. It is checked again when the server answers"
)


def _save(store: CacheStore, incident_id: int, page: HistoryPage) -> None:
    """On the cache's thread: the answer as JSON, kept for the incident."""
    store.save_history(CachedHistory(incident_id, page.server_time, page.model_dump_json()))


def _load(store: CacheStore, incident_id: int) -> tuple[CachedHistory | None, HistoryPage | None]:
    """On the cache's thread: the answer held, read back (a 200-incident page is not
    parsed on the GUI thread)."""
    held = store.load_history(incident_id)
    return held, HistoryPage.model_validate_json(held.data) if held is not None else None


def _reason(exc: DeskError) -> str:
    text = exc.message if isinstance(exc, ApiError) else str(exc)
    return text.rstrip(".")
