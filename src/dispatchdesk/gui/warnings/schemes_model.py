"""The supervisors' special-schemes table: one row per live scheme, sorted and filtered here
(not by a proxy: re-sorting 100,000 rows in Python on each change froze the desk for seconds).

The model is fed the warning index (:meth:`SchemesTableModel.show`) each time it changes and
asks it which schemes changed since the revision it shows: only those rows are inserted,
removed, moved or announced changed. A row holds the few values shown
(:class:`~dispatchdesk.gui.warnings.scheme_rows.SchemeRow`), its cells' texts are made when
asked; the full scheme is read from the index only for the one a supervisor acts on.

A new index (the desk's start, a snapshot) is read a slice at a time on the model's one timer,
the rows shown until then staying; a small one at once. Review states and expiries are met to
the second by :meth:`~SchemesTableModel.refresh_now` (the window's ticker calls it; only the
rows whose next change is due are touched) and "expires in" is re-worded at least every
``TEXT_REFRESH``, with one signal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    ReviewState,
    WarningPolicy,
    scheme_live,
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
from dispatchdesk.gui.warnings.scheme_rows import (
    HEADERS,
    REVIEW_WORDS,
    Changes,
    SchemeColumn,
    SchemeFilter,
    SchemeRow,
    SchemeSource,
    cell_text,
    in_words,
    scheme_row,
    sort_key,
)
from dispatchdesk.protocol.warnings import SchemeOut

__all__ = [
    "HEADERS",
    "REVIEW_STATE_ROLE",
    "REVIEW_WORDS",
    "SCHEME_ID_ROLE",
    "SchemeColumn",
    "SchemeFilter",
    "SchemesTableModel",
    "in_words",
]

ModelIndex = QModelIndex | QPersistentModelIndex

#: Each review state looks like a countdown state: the same icon shape (circle, triangle,
#: octagon) and the theme's colours for it. Never colour alone: the words are in the cell too.
_REVIEW_LOOK = {
    ReviewState.ACTIVE: CountdownState.ON_TRACK,
    ReviewState.REVIEW_DUE: CountdownState.AT_RISK,
    ReviewState.FIRST_STAGE: CountdownState.AT_RISK,
    ReviewState.SECOND_STAGE: CountdownState.BREACHED,
}

#: The id of a row's scheme, from any column.
SCHEME_ID_ROLE = USER_ROLE + 1

#: The row's :class:`ReviewState` at the last refresh.
REVIEW_STATE_ROLE = USER_ROLE + 2

#: How stale "expires in 3 min" may get: re-worded (one signal for the column) at least this
#: often, while review state changes and expiries are met to the second.
TEXT_REFRESH = timedelta(seconds=60)

#: An index with at most this many live schemes is read at once; a bigger one a slice at a
#: time (some 30 µs a scheme).
SYNC_FILL = 2_000
#: How long one slice of reading a new index may hold the GUI thread.
FILL_SLICE_SECONDS = 0.02
#: More changed schemes than this at once: read the whole index again (a slice at a time)
#: rather than announce each row (some 50 µs a row with the table attached).
REFILL_AT = 2_000

_ALL_COLUMNS = len(HEADERS) - 1


@dataclass
class _Fill:
    """A new index being read a slice at a time."""

    source: SchemeSource
    revision: int
    policy: WarningPolicy
    #: The ids still to read, popped from the end.
    todo: list[int]
    total: int
    #: The order and filter shown when it started: the rows it lets through are kept in
    #: order as they are read (if they change meanwhile, the rows are ordered at the end).
    shown: tuple[SchemeColumn, bool, SchemeFilter]
    rows: dict[int, SchemeRow] = field(default_factory=dict)
    #: The sort key of each row let through; how many rows each filter lets through; each
    #: row's next change (a slice of each, rather than all at the end).
    keys: list[tuple[Any, int]] = field(default_factory=list)
    counts: dict[SchemeFilter, int] = field(default_factory=lambda: dict.fromkeys(SchemeFilter, 0))
    changes: list[tuple[float, int]] = field(default_factory=list)

    def add(self, row: SchemeRow) -> None:
        self.rows[row.id] = row
        column, _, which = self.shown
        for f in row.filters():
            self.counts[f] += 1
            if f is which:
                self.keys.append(sort_key(row, column))
        self.changes.append((row.next_at, row.id))


class SchemesTableModel(RowsTableModel):
    """Live special schemes, one per row, sorted and filtered; ``data()`` reads only what is
    held in memory."""

    headers = HEADERS
    #: (read, of how many): a new index being read a slice at a time; (n, n) when done.
    fill_progress = Signal(int, int)

    def __init__(
        self,
        now: Callable[[], datetime],
        policy: WarningPolicy = DEFAULT_WARNING_POLICY,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._now = now
        self._policy = policy
        self._source: SchemeSource | None = None
        #: The source's revision the rows show.
        self._revision = 0
        self._by_id: dict[int, SchemeRow] = {}
        #: The ids of the rows shown (those the filter lets through), in the order shown.
        self._rows: list[int] = []
        self._counts = dict.fromkeys(SchemeFilter, 0)
        self._changes = Changes()
        self._filter = SchemeFilter.ALL
        self._sort_column = SchemeColumn.EXPIRES
        self._descending = False
        self._colours = countdown_colours(_app_theme())
        #: "Expires in" and the victim's dates are worded as at this instant.
        self._shown_at = now()
        self._text_due = self._shown_at + TEXT_REFRESH
        self._fill: _Fill | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._fill_slice)

    # -- Qt model --------------------------------------------------------------------------

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, col, role = self._by_id[self._rows[index.row()]], index.column(), int(role)
        if role in (DISPLAY_ROLE, TOOLTIP_ROLE, ACCESSIBLE_ROLE):
            return cell_text(row, col, self._shown_at, self._policy.timezone)
        if role == SCHEME_ID_ROLE:
            return row.id
        if role == REVIEW_STATE_ROLE:
            return row.state
        if role == DECORATION_ROLE:
            return _decoration(row, col)
        if role in (FOREGROUND_ROLE, BACKGROUND_ROLE):
            colours = self._cell_colours(row, col)
            if colours is None:
                return None
            return colours.foreground if role == FOREGROUND_ROLE else colours.background
        return None

    def _cell_colours(self, row: SchemeRow, col: int) -> StateColours | None:
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

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column`` (the view's header); the selection follows its rows."""
        if not 0 <= column < len(HEADERS):
            return
        self.layoutAboutToBeChanged.emit()
        self._sort_column = SchemeColumn(column)
        self._descending = order == Qt.SortOrder.DescendingOrder
        kept = [(p, self._rows[p.row()]) for p in self.persistentIndexList() if p.isValid()]
        self._rows = self._ordered(self._rows)
        self.changePersistentIndexList(
            [p for p, _ in kept],
            [self.index(self._find(self._by_id[sid]), p.column()) for p, sid in kept],
        )
        self.layoutChanged.emit()

    # -- filter ----------------------------------------------------------------------------

    @property
    def filter(self) -> SchemeFilter:
        return self._filter

    def set_filter(self, which: SchemeFilter) -> None:
        """Show only the schemes ``which`` lets through (the view keeps its selection)."""
        self.beginResetModel()
        self._filter = which
        self._rows = self._ordered(
            sid for sid, row in self._by_id.items() if which.accepts(row.state, row.victim_informed)
        )
        self.endResetModel()

    def count(self, which: SchemeFilter) -> int:
        """How many live schemes ``which`` lets through (whatever the filter shown)."""
        return self._counts[which]

    # -- fed the index ---------------------------------------------------------------------

    @property
    def policy(self) -> WarningPolicy:
        return self._policy

    @property
    def filling(self) -> bool:
        """A new index is being read (the rows shown are the previous ones until it is)."""
        return self._fill is not None

    def show(self, source: SchemeSource) -> None:
        """Show the schemes of ``source`` as they are now: only those changed since the
        revision shown are touched; a new source (or one changed beyond what it remembers)
        is read whole."""
        fill = self._fill
        if fill is not None:
            if source is not fill.source or source.policy != fill.policy:
                self._start_fill(source)
            return  # the fill catches up with what changed meanwhile when it ends
        changed = None
        if source is self._source and source.policy == self._policy:
            changed = source.changed_schemes_since(self._revision)
        if changed is None or len(changed) > REFILL_AT:
            self._start_fill(source)
            return
        self._revision = source.revision
        now = self._now()
        for sid in changed:
            self._apply(source, sid, now)

    def _start_fill(self, source: SchemeSource) -> None:
        ids = source.live_scheme_ids(self._now())
        shown = (self._sort_column, self._descending, self._filter)
        self._fill = _Fill(source, source.revision, source.policy, ids, len(ids), shown)
        if len(ids) <= SYNC_FILL:
            self._fill_slice(float("inf"))
        else:
            self.fill_progress.emit(0, len(ids))
            self._timer.start()

    def _fill_slice(self, seconds: float | None = None) -> None:
        """Read schemes of the new index for ``seconds`` (``FILL_SLICE_SECONDS``), 64 at
        least; the last slice shows them."""
        fill = self._fill
        if fill is None:
            self._timer.stop()
            return
        stop = time.perf_counter() + (FILL_SLICE_SECONDS if seconds is None else seconds)
        now, todo, source = self._now(), fill.todo, fill.source
        while todo:
            for sid in todo[-64:]:
                scheme = source.scheme(sid)
                row = None if scheme is None else scheme_row(scheme, now, fill.policy)
                if row is not None:
                    fill.add(row)
            del todo[-64:]
            if time.perf_counter() >= stop:
                break
        if todo:
            self.fill_progress.emit(fill.total - len(todo), fill.total)
            return
        self._timer.stop()
        self._finish_fill(fill)

    def _finish_fill(self, fill: _Fill) -> None:
        now = self._now()
        self.beginResetModel()
        self._fill = None
        self._source, self._revision, self._policy = fill.source, fill.revision, fill.policy
        self._by_id, self._counts = fill.rows, fill.counts
        self._changes.reset(fill.changes)
        if fill.shown == (self._sort_column, self._descending, self._filter):
            fill.keys.sort(reverse=self._descending)
            self._rows = [key[1] for key in fill.keys]
        else:
            which = self._filter
            self._rows = self._ordered(
                sid
                for sid, row in fill.rows.items()
                if which.accepts(row.state, row.victim_informed)
            )
        self._shown_at, self._text_due = now, now + TEXT_REFRESH
        self.endResetModel()
        self.fill_progress.emit(fill.total, fill.total)
        self.show(fill.source)  # what changed while it was read

    # -- one scheme ------------------------------------------------------------------------

    def _apply(self, source: SchemeSource, sid: int, now: datetime) -> None:
        """The row of scheme ``sid`` made to match the source: added, changed, or gone."""
        scheme = source.scheme(sid)
        new = None if scheme is None else scheme_row(scheme, now, self._policy)
        old = self._by_id.get(sid)
        if old == new:
            return
        if new is None:
            if old is not None:
                self._drop(old)
        elif old is None:
            self._add(new)
        else:
            self._replace(old, new)

    def _add(self, row: SchemeRow) -> None:
        self._by_id[row.id] = row
        self._count(row, 1)
        self._changes.add(row, self._by_id)
        if self._filter.accepts(row.state, row.victim_informed):
            pos = self._position(sort_key(row, self._sort_column))
            self.beginInsertRows(QModelIndex(), pos, pos)
            self._rows.insert(pos, row.id)
            self.endInsertRows()

    def _drop(self, row: SchemeRow) -> None:
        if self._filter.accepts(row.state, row.victim_informed):
            pos = self._find(row)
            self.beginRemoveRows(QModelIndex(), pos, pos)
            del self._rows[pos]
            self.endRemoveRows()
        del self._by_id[row.id]
        self._count(row, -1)

    def _replace(self, old: SchemeRow, new: SchemeRow) -> None:
        """``old``'s row now shows ``new`` (the same scheme): changed in place, moved to its
        place in the order, or in or out of the filter."""
        accepts = self._filter.accepts
        if not (
            accepts(old.state, old.victim_informed) and accepts(new.state, new.victim_informed)
        ):
            self._drop(old)
            self._add(new)
            return
        self._count(old, -1)
        self._count(new, 1)
        pos = self._find(old)
        dest = self._position(sort_key(new, self._sort_column))  # old still in place
        moved = dest not in (pos, pos + 1)
        if moved:
            self.beginMoveRows(QModelIndex(), pos, pos, QModelIndex(), dest)
        self._by_id[new.id] = new
        if moved:
            del self._rows[pos]
            pos = dest - 1 if dest > pos else dest
            self._rows.insert(pos, new.id)
            self.endMoveRows()
        if new.next_at != old.next_at:
            self._changes.add(new, self._by_id)
        self.dataChanged.emit(self.index(pos, 0), self.index(pos, _ALL_COLUMNS))

    def _count(self, row: SchemeRow, delta: int) -> None:
        for which in row.filters():
            self._counts[which] += delta

    # -- order -----------------------------------------------------------------------------

    def _ordered(self, ids: Iterable[int]) -> list[int]:
        by_id, col = self._by_id, self._sort_column
        return sorted(ids, key=lambda sid: sort_key(by_id[sid], col), reverse=self._descending)

    def _position(self, key: tuple[Any, int]) -> int:
        """Where a row sorting on ``key`` is (or goes) among the rows shown."""
        rows, by_id, col, descending = self._rows, self._by_id, self._sort_column, self._descending
        lo, hi = 0, len(rows)
        while lo < hi:
            mid = (lo + hi) // 2
            k = sort_key(by_id[rows[mid]], col)
            if (k > key) if descending else (k < key):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _find(self, row: SchemeRow) -> int:
        """The position of ``row`` (held, and shown) among the rows shown."""
        pos = self._position(sort_key(row, self._sort_column))
        if pos < len(self._rows) and self._rows[pos] == row.id:
            return pos
        return self._rows.index(row.id)  # never expected: the order is kept

    # -- time ------------------------------------------------------------------------------

    def refresh_now(self) -> None:
        """Called by the window's ticker: the rows whose review state changes or which
        expire by now (those go at once), and "expires in" re-worded when due."""
        now = self._now()
        for when, sid in self._changes.due(now.timestamp()):
            row = self._by_id.get(sid)
            if row is None or row.next_at != when:
                continue  # overtaken by a later change of the scheme
            if not scheme_live(row.expires_at, now):
                self._drop(row)
                continue
            new = replace(row)
            new.at(now, self._policy)
            self._replace(row, new)
        if now >= self._text_due:
            self._shown_at, self._text_due = now, now + TEXT_REFRESH
            if self._rows:
                self.dataChanged.emit(
                    self.index(0, SchemeColumn.EXPIRES),
                    self.index(len(self._rows) - 1, SchemeColumn.VICTIM),
                )

    # -- reading ---------------------------------------------------------------------------

    def scheme_id(self, row: int) -> int:
        return self._rows[row]

    def row_of(self, scheme_id: int) -> int | None:
        """The row showing scheme ``scheme_id``, if shown (live, and let through)."""
        row = self._by_id.get(scheme_id)
        if row is None or not self._filter.accepts(row.state, row.victim_informed):
            return None
        return self._find(row)

    def has(self, scheme_id: int) -> bool:
        """Scheme ``scheme_id`` is live and held (shown or filtered out)."""
        return scheme_id in self._by_id

    def scheme_ids(self) -> list[int]:
        """The live schemes held (shown or filtered out), by id."""
        return sorted(self._by_id)

    def scheme(self, scheme_id: int) -> SchemeOut | None:
        """The whole scheme of a live row, read from the index (for the one acted on)."""
        if self._source is None or scheme_id not in self._by_id:
            return None
        return self._source.scheme(scheme_id)

    def review_state(self, row: int) -> ReviewState:
        return self._by_id[self._rows[row]].state

    def victim_informed(self, row: int) -> bool:
        return self._by_id[self._rows[row]].victim_informed


def _decoration(row: SchemeRow, col: int) -> QIcon | None:
    if col == SchemeColumn.REVIEW:
        return icons.countdown_icon(_REVIEW_LOOK[row.state])
    if col == SchemeColumn.VICTIM and not row.victim_informed:
        return icons.problem_icon()
    return None


def _app_theme() -> str:
    app = QApplication.instance()
    return current_theme(app) if isinstance(app, QApplication) else "normal"
