"""The queue's filter bar: grade buttons, status and borough lists, search, and the count of
incidents shown ("⚠ FILTERED" when anything is hidden). It drives the
:class:`~dispatchdesk.gui.queue.proxy.IncidentFilterProxy`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Incident, IncidentStatus
from dispatchdesk.domain.reference import LONDON_BOROUGHS
from dispatchdesk.gui.queue.model import IncidentTableModel
from dispatchdesk.gui.queue.proxy import OPEN_STATUSES, IncidentFilterProxy

STATUS_CHOICES: tuple[tuple[str, frozenset[IncidentStatus]], ...] = (
    ("Open (all but closed)", OPEN_STATUSES),
    (IncidentStatus.OPEN.label, frozenset({IncidentStatus.OPEN})),
    (IncidentStatus.ASSIGNED.label, frozenset({IncidentStatus.ASSIGNED})),
    (IncidentStatus.AT_SCENE.label, frozenset({IncidentStatus.AT_SCENE})),
    (IncidentStatus.CLOSED.label, frozenset({IncidentStatus.CLOSED})),
    ("All, closed included", frozenset(IncidentStatus)),
)
ALL_BOROUGHS = "All boroughs"


def _label_grade_button(button: QToolButton, grade: Grade, shown: bool) -> None:
    """The state in words too: "✓ I" shown, "✗ I" hidden."""
    button.setText(f"{'✓' if shown else '✗'} {grade.value}")
    state = "shown" if shown else "hidden"
    button.setToolTip(f"{grade.label} incidents are {state}; click or Ctrl+{grade.rank + 1}")


class QueueFilterBar(QWidget):
    """Filters of the queue. ``moving`` wraps every change of the proxy's filters (the window
    keeps the operator's incident selected across it)."""

    def __init__(
        self,
        model: IncidentTableModel,
        proxy: IncidentFilterProxy,
        moving: Callable[[], AbstractContextManager[None]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._proxy = proxy
        self._moving = moving
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(QLabel("Grades:"))
        self.grade_buttons: dict[Grade, QToolButton] = {}
        for grade in Grade:
            button = QToolButton()
            button.setCheckable(True)
            button.setChecked(True)
            _label_grade_button(button, grade, True)
            button.toggled.connect(lambda on, b=button, g=grade: _label_grade_button(b, g, on))
            button.setAccessibleName(f"Show {grade.label}")
            layout.addWidget(button)
            self.grade_buttons[grade] = button
        self.status_combo = QComboBox()
        for text, _statuses in STATUS_CHOICES:
            self.status_combo.addItem(text)
        self.status_combo.setAccessibleName("Status filter")
        self.borough_combo = QComboBox()
        self.borough_combo.addItem(ALL_BOROUGHS)
        self.borough_combo.addItems(LONDON_BOROUGHS)
        self.borough_combo.setAccessibleName("Borough filter")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search ref, type, address, postcode, summary (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search")
        self.search.setMinimumWidth(160)
        self.count_label = QLabel()
        for widget, stretch in (
            (QLabel("Status:"), 0),
            (self.status_combo, 0),
            (self.borough_combo, 0),
            (self.search, 1),
            (self.count_label, 0),
        ):
            layout.addWidget(widget, stretch)
        self._connect()

    def _connect(self) -> None:
        for button in self.grade_buttons.values():
            button.toggled.connect(self._grades_changed)
        self.status_combo.currentIndexChanged.connect(self._status_changed)
        self.borough_combo.currentIndexChanged.connect(self._borough_changed)
        self.search.textChanged.connect(self._search_changed)
        proxy = self._proxy
        for signal in (proxy.rowsInserted, proxy.rowsRemoved):
            signal.connect(lambda *_: self.update_count())
        proxy.modelReset.connect(self.update_count)
        proxy.layoutChanged.connect(lambda *_: self.update_count())

    def toggler(self, grade: Grade) -> Callable[[], None]:
        """Show/hide ``grade`` (its Ctrl+digit shortcut)."""
        return lambda: self.grade_buttons[grade].toggle()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def reset(self) -> None:
        """Every grade and borough, open incidents, no search (call inside ``moving``)."""
        for button in self.grade_buttons.values():
            button.setChecked(True)
        self.status_combo.setCurrentIndex(0)
        self.borough_combo.setCurrentIndex(0)
        self.search.clear()
        self._proxy.reset_filters()

    def add_boroughs(self, incidents: Sequence[Incident]) -> None:
        """Boroughs not on the list yet (another force's, or one the server added)."""
        known = {self.borough_combo.itemText(i) for i in range(self.borough_combo.count())}
        for borough in sorted({i.location.borough for i in incidents} - known):
            if borough:
                self.borough_combo.addItem(borough)

    def update_count(self) -> None:
        shown, total = self._proxy.rowCount(), self._model.rowCount()
        text = f"{shown:,} of {total:,} shown"
        if self._proxy.is_narrowed():
            text = f"⚠ FILTERED: {text} (F5 shows all open)"
        self.count_label.setText(text)

    def _grades_changed(self) -> None:
        with self._moving():
            self._proxy.set_grades(g for g, b in self.grade_buttons.items() if b.isChecked())
        self.update_count()

    def _status_changed(self, index: int) -> None:
        with self._moving():
            self._proxy.set_statuses(STATUS_CHOICES[index][1])
        self.update_count()

    def _borough_changed(self, index: int) -> None:
        with self._moving():
            self._proxy.set_borough(None if index <= 0 else self.borough_combo.itemText(index))
        self.update_count()

    def _search_changed(self, text: str) -> None:
        with self._moving():
            self._proxy.set_search(text)
        self.update_count()
