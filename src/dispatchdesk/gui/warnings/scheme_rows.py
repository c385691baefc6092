"""What the supervisors' schemes table holds of each scheme: a :class:`SchemeRow` of the few
values it shows (not the whole scheme: a desk may hold 100,000), the cells' texts made from
them on demand, the sort keys, the filters and the instants a row changes by itself.

A row is made from the full scheme once per change of that scheme; the full scheme is read
again (from the warning index) only for the one a supervisor acts on.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from sys import intern
from typing import Any, Protocol

from dispatchdesk.domain.warnings import (
    ReviewState,
    SchemeCategory,
    VictimContactOutcome,
    WarningPolicy,
    scheme_escalation_due,
    scheme_live,
    scheme_review_due,
    scheme_review_state,
)
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.warnings.texts import SCHEME_CATEGORY_WORDS
from dispatchdesk.protocol.warnings import SchemeOut


class SchemeSource(Protocol):
    """Where the schemes come from: the engine's warning index."""

    @property
    def revision(self) -> int: ...

    @property
    def policy(self) -> WarningPolicy: ...

    def live_scheme_ids(self, now: datetime) -> list[int]: ...

    def scheme(self, scheme_id: int) -> SchemeOut | None: ...

    def changed_schemes_since(self, revision: int) -> set[int] | None: ...


class SchemeColumn(IntEnum):
    ADDRESS = 0
    CATEGORY = 1
    SUMMARY = 2
    OFFICER = 3
    STARTS = 4
    EXPIRES = 5
    REVIEW = 6
    VICTIM = 7


HEADERS = (
    "Address",
    "Category",
    "Summary",
    "Officer in case",
    "Starts",
    "Expires",
    "Review",
    "Victim contact",
)

REVIEW_WORDS = {
    ReviewState.ACTIVE: "Active",
    ReviewState.REVIEW_DUE: "Review due",
    ReviewState.FIRST_STAGE: "First-stage review requested",
    ReviewState.SECOND_STAGE: "ESCALATED (second stage)",
}
_REVIEW_RANK = {state: n for n, state in enumerate(REVIEW_WORDS)}

NOT_INFORMED = "NOT informed"


class SchemeFilter(StrEnum):
    ALL = "All"
    #: Review due, or a review requested and awaiting a decision (either stage).
    DUE = "Due for review"
    ESCALATED = "Escalated"
    VICTIM_NOT_INFORMED = "Victim not informed"

    def accepts(self, state: ReviewState, victim_informed: bool) -> bool:
        if self is SchemeFilter.DUE:
            return state is not ReviewState.ACTIVE
        if self is SchemeFilter.ESCALATED:
            return state is ReviewState.SECOND_STAGE
        if self is SchemeFilter.VICTIM_NOT_INFORMED:
            return not victim_informed
        return True


def in_words(left: timedelta) -> str:
    """ "in 12 days", "in 1 day", "in 5 hours", "in 3 min"."""
    seconds = left.total_seconds()
    if seconds <= 0:
        return "expired"
    days, hours = int(seconds // 86400), int(seconds // 3600)
    if days:
        return f"in {days} day{'s' if days > 1 else ''}"
    if hours:
        return f"in {hours} hour{'s' if hours > 1 else ''}"
    return f"in {max(1, int(seconds // 60))} min"


@dataclass(slots=True)
class SchemeRow:
    """One live scheme as the table shows it. ``state`` and ``next_at`` move with time (the
    model changes them in place, announcing the row); the rest changes only with the scheme."""

    id: int
    address: str
    summary: str
    officer: str
    category: SchemeCategory
    starts_at: datetime
    expires_at: datetime
    review_requested_at: datetime | None
    victim_informed_at: datetime | None
    #: When the last victim contact was a failed attempt: when it was.
    failed_at: datetime | None
    state: ReviewState
    #: The next instant (a timestamp) the row changes by itself: its review state or expiry.
    next_at: float

    @property
    def victim_informed(self) -> bool:
        return self.victim_informed_at is not None

    def filters(self) -> Iterable[SchemeFilter]:
        informed = self.victim_informed
        return (f for f in SchemeFilter if f.accepts(self.state, informed))

    def at(self, now: datetime, policy: WarningPolicy) -> None:
        """Move the review state and the next change to ``now``."""
        self.state = scheme_review_state(self.expires_at, self.review_requested_at, now, policy)
        self.next_at = _next_change(self.expires_at, self.review_requested_at, now, policy)


def scheme_row(scheme: SchemeOut, now: datetime, policy: WarningPolicy) -> SchemeRow | None:
    """The row of ``scheme`` at ``now``; None once it has expired (never shown)."""
    if not scheme_live(scheme.expires_at, now):
        return None
    last = scheme.victim_contacts[-1] if scheme.victim_contacts else None
    failed = (
        last.at if last is not None and last.outcome is not VictimContactOutcome.INFORMED else None
    )
    row = SchemeRow(
        scheme.id,
        scheme.location.address,
        scheme.summary,
        intern(scheme.officer_in_case),
        scheme.category,
        scheme.starts_at,
        scheme.expires_at,
        scheme.review_requested_at,
        scheme.victim_informed_at,
        failed,
        ReviewState.ACTIVE,
        0.0,
    )
    row.at(now, policy)
    return row


def _next_change(
    expires_at: datetime, requested: datetime | None, now: datetime, policy: WarningPolicy
) -> float:
    soonest = expires_at
    escalation = None if requested is None else scheme_escalation_due(expires_at, requested, policy)
    for when in (scheme_review_due(expires_at, policy), escalation):
        if when is not None and now < when < soonest:
            soonest = when
    return soonest.timestamp()


# -- what the cells say ---------------------------------------------------------------------


def cell_text(row: SchemeRow, column: int, shown_at: datetime, tz: str) -> str:
    """The text of a cell; "expires in" and the victim's dates as at ``shown_at``."""
    if column == SchemeColumn.ADDRESS:
        return row.address
    if column == SchemeColumn.CATEGORY:
        return SCHEME_CATEGORY_WORDS[row.category]
    if column == SchemeColumn.SUMMARY:
        return row.summary
    if column == SchemeColumn.OFFICER:
        return row.officer
    if column == SchemeColumn.STARTS:
        return local(row.starts_at, tz, "%d %b %Y")
    if column == SchemeColumn.EXPIRES:
        left = in_words(row.expires_at - shown_at)
        return f"{local(row.expires_at, tz, '%d %b %Y %H:%M')} — {left}"
    if column == SchemeColumn.REVIEW:
        return REVIEW_WORDS[row.state]
    return victim_text(row, shown_at, tz)


def victim_text(row: SchemeRow, now: datetime, tz: str) -> str:
    """The last victim contact in words: "Yes, 12 Nov" (told), "Attempt failed, 3 Dec (told
    12 Nov)", or "NOT informed"."""

    def day(when: datetime) -> str:
        return local(when, tz, "%d %b" if when.year == now.year else "%d %b %Y").lstrip("0")

    informed = row.victim_informed_at
    told = NOT_INFORMED if informed is None else f"Yes, {day(informed)}"
    if row.failed_at is None:
        return told
    earlier = "" if informed is None else f" (told {day(informed)})"
    return f"Attempt failed, {day(row.failed_at)}{earlier}"


def sort_key(row: SchemeRow, column: int) -> tuple[Any, int]:
    """What a column sorts on (times as times, text folded), then the id: never a tie."""
    key: Any
    if column == SchemeColumn.STARTS:
        key = row.starts_at
    elif column == SchemeColumn.EXPIRES:
        key = row.expires_at
    elif column == SchemeColumn.REVIEW:
        key = _REVIEW_RANK[row.state]
    elif column == SchemeColumn.VICTIM:
        informed = row.victim_informed_at
        key = informed.timestamp() if informed is not None else 0.0
    elif column == SchemeColumn.CATEGORY:
        key = SCHEME_CATEGORY_WORDS[row.category].casefold()
    else:
        key = (row.address, "", row.summary, row.officer)[column].casefold()
    return key, row.id


# -- when rows change by themselves ---------------------------------------------------------


class Changes:
    """The rows' next changes (review state, expiry), soonest first: a heap of
    (timestamp, id); an entry no longer the row's ``next_at`` is skipped when it comes up."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []

    def reset(self, entries: list[tuple[float, int]]) -> None:
        """Start again with ``entries`` (each row's (next_at, id); the list is kept)."""
        heapq.heapify(entries)
        self._heap = entries

    def add(self, row: SchemeRow, rows: Mapping[int, SchemeRow]) -> None:
        """File ``row``'s next change; the entries overtaken are dropped once they are as
        many as the ``rows`` held."""
        heapq.heappush(self._heap, (row.next_at, row.id))
        if len(self._heap) > 2 * len(rows) + 1_024:
            self._heap = [e for e in self._heap if _current(e, rows)]
            heapq.heapify(self._heap)

    def due(self, now: float) -> list[tuple[float, int]]:
        """The entries due by ``now``, taken off."""
        heap, out = self._heap, []
        while heap and heap[0][0] <= now:
            out.append(heapq.heappop(heap))
        return out

    def __len__(self) -> int:
        return len(self._heap)


def _current(entry: tuple[float, int], rows: Mapping[int, SchemeRow]) -> bool:
    row = rows.get(entry[1])
    return row is not None and row.next_at == entry[0]
