"""The queue's selection: which incident the operator selected, kept through re-sorts, filter
changes and rows leaving.

Around every change of rows or filters (:meth:`SelectionKeeper.model_moving`) the detail panel
stays on the operator's incident and the view stays where it was (the most urgent rows at the
top stay there); when the selected row moves out of sight, the selection cue above the queue
says where it went. An incident the filters hide is not acted on (:meth:`selected_incident` is
None, and :meth:`no_selection` says why). A created incident is revealed (the filters cleared
when they hide it) and selected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QPushButton, QTableView

from dispatchdesk.domain.incident import Incident
from dispatchdesk.gui.queue.model import Column

if TYPE_CHECKING:
    from dispatchdesk.gui.queue.window import QueueWindow


class SelectionKeeper:
    """The selected incident of one queue window, its row kept in place and in sight."""

    def __init__(self, window: QueueWindow) -> None:
        self._window = window
        self._selected_id: int | None = None
        self._moving = False

    def connect(self) -> None:
        """Follow the operator's moves in the queue, and its scrolling (for the cue)."""
        table = self._window.table
        table.selectionModel().currentRowChanged.connect(self._current_changed)
        scroll = table.verticalScrollBar()
        scroll.valueChanged.connect(lambda _value: self.show_selection_cue())
        scroll.rangeChanged.connect(lambda _low, _high: self.show_selection_cue())

    # -- what is selected ------------------------------------------------------------------

    def selected_incident(self) -> Incident | None:
        """The incident selected in the queue *and shown there*: one the filters hide is
        not acted on (F2 and the other actions say so instead, see :meth:`no_selection`)."""
        w = self._window
        if self._selected_id is None or w.proxy.proxy_row_of(self._selected_id) is None:
            return None
        return w.model.incident(self._selected_id)

    def selected_id(self) -> int | None:
        """The incident the operator selected last (shown or not)."""
        return self._selected_id

    def known_incident(self, incident_id: int) -> Incident | None:
        return self._window.model.incident(incident_id)

    def no_selection(self, then: str) -> str:
        """Why an action has no incident to act on, and what to do, ``then`` ..."""
        model = self._window.model
        hidden = None if self._selected_id is None else model.incident(self._selected_id)
        if hidden is not None:
            return (
                f"{hidden.ref} is hidden by the filters, so nothing was done: show it "
                f"(F5 shows all) or select a shown incident, then {then}."
            )
        return f"Select an incident first, then {then}."

    # -- selecting -------------------------------------------------------------------------

    def select_incident(self, incident_id: int) -> bool:
        w = self._window
        row = w.proxy.proxy_row_of(incident_id)
        if row is None:
            return False
        w.table.setCurrentIndex(w.proxy.index(row, Column.REF))
        w.table.scrollTo(w.proxy.index(row, Column.REF))
        return True

    def reveal_incident(self, incident_id: int) -> bool:
        """Select and show the incident; when the filters hide it, clear them first (the
        count shows all again). True when the filters were cleared."""
        w = self._window
        cleared = False
        if w.proxy.proxy_row_of(incident_id) is None and w.model.incident(incident_id):
            with self.model_moving():
                w.filters.reset()
            cleared = True
        self.select_incident(incident_id)
        return cleared

    def show_created(self, incident_id: int) -> None:
        """The created-incident note's Show button: reveal the new incident in the queue."""
        w = self._window
        cleared = self.reveal_incident(incident_id)
        if cleared:
            w.created_note.say(
                w.created_note.text() + " The filters were cleared to show it.", incident_id
            )
        w.table.setFocus()

    def select_first(self) -> None:
        w = self._window
        if w.proxy.rowCount():
            w.table.setCurrentIndex(w.proxy.index(0, Column.REF))
            w.table.scrollToTop()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Follow the operator's moves only; a move caused by rows leaving is undone later."""
        if self._moving or not current.isValid():
            return
        incident = self._window.proxy.incident_at(current.row())
        self._selected_id = incident.id
        self._window.detail.show_incident(incident)

    # -- kept through changes --------------------------------------------------------------

    @contextmanager
    def model_moving(self) -> Iterator[None]:
        """Around changes of rows or filters: the detail stays on the operator's incident,
        and the view stays where it was (the most urgent rows at the top stay there); when the
        selection moved out of sight, the selection cue says where it went."""
        self._moving = True
        scroll = self._window.table.verticalScrollBar()
        position = scroll.value()
        try:
            yield
        finally:
            self._moving = False
            self._restore_selection()
            scroll.setValue(position)
            self.show_selection_cue()

    def _restore_selection(self) -> None:
        w = self._window
        selected = self._selected_id
        if selected is None:
            return
        incident = w.model.incident(selected)
        if incident is None:
            w.table.selectionModel().clear()
            self._selected_id = None
            w.detail.show_incident(None)
            w.show_problem("The incident you had open was removed from the queue.")
            return
        row = w.proxy.proxy_row_of(selected)
        current = w.table.currentIndex()
        if row is None:
            w.table.selectionModel().clear()  # filtered out: the panel keeps showing it
        elif not current.isValid() or current.row() != row:
            self._moving = True
            w.table.setCurrentIndex(w.proxy.index(row, Column.REF))
            self._moving = False
        w.detail.update_incident(incident)

    # -- the selection cue -----------------------------------------------------------------

    def show_selection_cue(self) -> None:
        """Above the queue: where the selected row went when it is out of sight."""
        w = self._window
        incident = self.selected_incident()
        row = None if incident is None else w.proxy.proxy_row_of(incident.id)
        where = None if row is None else _out_of_sight(w.table, row)
        cue = w.selection_cue
        if incident is None or row is None or where is None:
            cue.hide()
            return
        arrow = "▲" if where == "above" else "▼"
        cue.setText(
            f"{arrow} Your selected incident {incident.ref} is now row {row + 1}, "
            f"{where} the rows shown — click to show it"
        )
        cue.setAccessibleName(cue.text())
        cue.show()

    def scroll_to_selection(self) -> None:
        """Bring the selected row into view (the selection cue's button)."""
        table = self._window.table
        current = table.currentIndex()
        if current.isValid():
            table.scrollTo(current, QTableView.ScrollHint.PositionAtCenter)
        self.show_selection_cue()


def selection_cue(show: Callable[[], None]) -> QPushButton:
    """The selection cue's button (hidden until the selected row is out of sight)."""
    cue = QPushButton()
    cue.setObjectName("selectionCue")
    cue.setFlat(True)
    cue.setStyleSheet("QPushButton#selectionCue { text-align: left; font-weight: bold; }")
    cue.clicked.connect(lambda _checked=False: show())
    cue.hide()
    return cue


def _out_of_sight(table: QTableView, row: int) -> str | None:
    """``"above"`` or ``"below"`` when ``row`` is not (wholly) in the table's viewport."""
    top = table.rowViewportPosition(row)
    if top < 0:
        return "above"
    if top + table.rowHeight(row) > table.viewport().height():
        return "below"
    return None
