"""The supervisors' special-schemes table: one row per scheme, texts computed once per
change and refreshed as time passes (expiry in words, review state, victim told)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QApplication,
)

from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    ReviewState,
    VictimContactOutcome,
    WarningPolicy,
    scheme_escalation_due,
    scheme_live,
    scheme_review_due,
    scheme_review_state,
)
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.common.tables import (
    ACCESSIBLE_ROLE,
    BACKGROUND_ROLE,
    DECORATION_ROLE,
    DISPLAY_ROLE,
    FOREGROUND_ROLE,
    TOOLTIP_ROLE,
    USER_ROLE,
    RowsTableModel,
)
from dispatchdesk.gui.common.theme import StateColours, countdown_colours, current_theme
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.warnings.texts import SCHEME_CATEGORY_WORDS
from dispatchdesk.protocol.warnings import SchemeOut

ModelIndex = QModelIndex | QPersistentModelIndex


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

#: Each review state looks like a countdown state: the same icon shape (circle, triangle,
#: octagon) and the theme's colours for it. Never colour alone: the words are in the cell too.
_REVIEW_LOOK = {
    ReviewState.ACTIVE: CountdownState.ON_TRACK,
    ReviewState.REVIEW_DUE: CountdownState.AT_RISK,
    ReviewState.FIRST_STAGE: CountdownState.AT_RISK,
    ReviewState.SECOND_STAGE: CountdownState.BREACHED,
}

NOT_INFORMED = "NOT informed"

#: The scheme (:class:`SchemeOut`) of a row, from any column.
SCHEME_ROLE = USER_ROLE + 1

#: The row's :class:`ReviewState` at the last refresh.
REVIEW_STATE_ROLE = USER_ROLE + 2

#: What the proxy sorts on: times as timestamps, text folded.
SORT_ROLE = USER_ROLE + 3

#: How stale "expires in 3 min" may get: the text is rebuilt at least this often, while review
#: state changes and expiries are met to the second (rebuilding every row every tick would
#: cost ~25 µs a row, each second, on the GUI thread).
TEXT_REFRESH = timedelta(seconds=60)


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


@dataclass(frozen=True, slots=True)
class _Row:
    """One scheme and everything shown for it, computed at the last refresh."""

    scheme: SchemeOut
    state: ReviewState
    cells: tuple[str, ...]

    @property
    def victim_informed(self) -> bool:
        return self.scheme.victim_informed_at is not None


def _row(scheme: SchemeOut, now: datetime, policy: WarningPolicy) -> _Row:
    tz = policy.timezone
    state = scheme_review_state(scheme.expires_at, scheme.review_requested_at, now, policy)
    victim = _victim_cell(scheme, now, tz)
    cells = (
        scheme.location.address,
        SCHEME_CATEGORY_WORDS[scheme.category],
        scheme.summary,
        scheme.officer_in_case,
        local(scheme.starts_at, tz, "%d %b %Y"),
        f"{local(scheme.expires_at, tz, '%d %b %Y %H:%M')} — {in_words(scheme.expires_at - now)}",
        REVIEW_WORDS[state],
        victim,
    )
    return _Row(scheme, state, cells)


def _victim_cell(scheme: SchemeOut, now: datetime, tz: str) -> str:
    """The last victim contact in words: "Yes, 12 Nov" (told), "Attempt failed, 3 Dec (told
    12 Nov)", or "NOT informed"."""

    def day(when: datetime) -> str:
        return local(when, tz, "%d %b" if when.year == now.year else "%d %b %Y").lstrip("0")

    informed = scheme.victim_informed_at
    told = NOT_INFORMED if informed is None else f"Yes, {day(informed)}"
    last = scheme.victim_contacts[-1] if scheme.victim_contacts else None
    if last is None or last.outcome is VictimContactOutcome.INFORMED:
        return told
    earlier = "" if informed is None else f" (told {day(informed)})"
    return f"Attempt failed, {day(last.at)}{earlier}"


class SchemesTableModel(RowsTableModel):
    """Live special schemes, one per row; ``data()`` reads only what is held in memory."""

    headers = HEADERS

    def __init__(
        self,
        now: Callable[[], datetime],
        policy: WarningPolicy = DEFAULT_WARNING_POLICY,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._now = now
        self._policy = policy
        self._rows: list[_Row] = []
        self._colours = countdown_colours(_app_theme())
        #: The next instant a cell can change (refresh_now does nothing before it).
        self._next_change: datetime | None = None

    # -- Qt model --------------------------------------------------------------------------

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, col, role = self._rows[index.row()], index.column(), int(role)
        if role in (DISPLAY_ROLE, TOOLTIP_ROLE, ACCESSIBLE_ROLE):
            return row.cells[col]
        if role == SCHEME_ROLE:
            return row.scheme
        if role == REVIEW_STATE_ROLE:
            return row.state
        if role == SORT_ROLE:
            return _sort_key(row, col)
        if role == DECORATION_ROLE:
            return _decoration(row, col)
        if role in (FOREGROUND_ROLE, BACKGROUND_ROLE):
            colours = self._cell_colours(row, col)
            if colours is None:
                return None
            return colours.foreground if role == FOREGROUND_ROLE else colours.background
        return None

    def _cell_colours(self, row: _Row, col: int) -> StateColours | None:
        if col == SchemeColumn.REVIEW:
            return self._colours[_REVIEW_LOOK[row.state]]
        if col == SchemeColumn.VICTIM and not row.victim_informed:
            return self._colours[CountdownState.BREACHED]
        return None

    def set_theme(self, theme: str) -> None:
        """Use the state colours of ``theme`` (``normal`` or ``high-contrast``)."""
        self._colours = countdown_colours(theme)
        if self._rows:
            self.dataChanged.emit(
                self.index(0, SchemeColumn.REVIEW),
                self.index(len(self._rows) - 1, SchemeColumn.VICTIM),
            )

    # -- content ---------------------------------------------------------------------------

    @property
    def policy(self) -> WarningPolicy:
        return self._policy

    def set_policy(self, policy: WarningPolicy) -> None:
        self._policy = policy
        self.set_schemes([r.scheme for r in self._rows])

    def set_schemes(self, schemes: Sequence[SchemeOut]) -> None:
        """Replace every scheme shown (those already expired are left out)."""
        now = self._now()
        self.beginResetModel()
        self._rows = [_row(s, now, self._policy) for s in schemes if scheme_live(s.expires_at, now)]
        self.endResetModel()
        self._next_change = self._soonest_change(now)

    def schemes(self) -> list[SchemeOut]:
        return [r.scheme for r in self._rows]

    def scheme(self, row: int) -> SchemeOut:
        return self._rows[row].scheme

    def review_state(self, row: int) -> ReviewState:
        return self._rows[row].state

    def victim_informed(self, row: int) -> bool:
        return self._rows[row].victim_informed

    def refresh_now(self) -> None:
        """Recompute review states and "expires in" at ``now``; drop expired schemes."""
        now = self._now()
        if self._next_change is not None and now < self._next_change:
            return
        for n in range(len(self._rows) - 1, -1, -1):
            if not scheme_live(self._rows[n].scheme.expires_at, now):
                self.beginRemoveRows(QModelIndex(), n, n)
                del self._rows[n]
                self.endRemoveRows()
        for n, old in enumerate(self._rows):
            new = _row(old.scheme, now, self._policy)
            if new != old:
                self._rows[n] = new
                self.dataChanged.emit(
                    self.index(n, SchemeColumn.EXPIRES), self.index(n, SchemeColumn.REVIEW)
                )
        self._next_change = self._soonest_change(now)

    def _soonest_change(self, now: datetime) -> datetime:
        """The next review-state boundary or expiry of any row, or the next text refresh."""
        soonest = now + TEXT_REFRESH
        policy = self._policy
        for row in self._rows:
            s = row.scheme
            requested = s.review_requested_at
            escalation = (
                scheme_escalation_due(s.expires_at, requested, policy)
                if requested is not None
                else None
            )
            for when in (scheme_review_due(s.expires_at, policy), s.expires_at, escalation):
                if when is not None and now < when < soonest:
                    soonest = when
        return soonest


def _sort_key(row: _Row, col: int) -> Any:
    s = row.scheme
    if col == SchemeColumn.STARTS:
        return s.starts_at.timestamp()
    if col == SchemeColumn.EXPIRES:
        return s.expires_at.timestamp()
    if col == SchemeColumn.REVIEW:
        return list(REVIEW_WORDS).index(row.state)
    if col == SchemeColumn.VICTIM:
        return s.victim_informed_at.timestamp() if s.victim_informed_at else 0.0
    return row.cells[col].casefold()


def _decoration(row: _Row, col: int) -> QIcon | None:
    if col == SchemeColumn.REVIEW:
        return icons.countdown_icon(_REVIEW_LOOK[row.state])
    if col == SchemeColumn.VICTIM and not row.victim_informed:
        return icons.problem_icon()
    return None


def _app_theme() -> str:
    app = QApplication.instance()
    return current_theme(app) if isinstance(app, QApplication) else "normal"
