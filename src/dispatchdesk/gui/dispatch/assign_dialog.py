"""Send a unit to one incident: by callsign, from the nearest available units, or by drag.

:class:`AssignPanel` is the whole job for one incident; :class:`AssignDialog` wraps it in a
non-modal window. Keyboard first: type part of a callsign (the completer shows "LX21 —
Available — IRV — Camden"), Enter assigns. Enter on a row of the reallocation list (available
units, nearest first) does the same. What a unit can be sent to depends on where it is:

- AVAILABLE: ``assign_unit`` at once;
- on another incident: a divert, which needs a reason typed inline (the panel says which
  incident is left owed) and then ``divert_unit``;
- COMMITTED or OFF_DUTY, already on this incident, or an unknown callsign: a message, nothing
  sent.

The incident's warnings (special schemes, protective orders: severity, what it is, expiry) are
listed above the callsign, with "Pass these warnings to the unit", ticked by default: the unit
sent must know them, and the assign or divert records which were passed (``warnings_passed``).
Untick it only when the unit was not told (then the record says none were passed).

After a command is sent the panel says "Assignment sent — pending until the server confirms",
clears the field and **stays open** for the next unit (grade I incidents often need more than
one); Esc or Close shuts it. A refusal by the server is shown in the panel as well as on the
units board.

:func:`install_unit_drop` makes the incident queue accept units dragged from the units board.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import (
    QFont,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QCompleter,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.domain.commands import CommandState
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.incident import Divert, DivertKind, Incident
from dispatchdesk.domain.unit import RankedUnit, Unit, UnitStatus, rank_for_incident
from dispatchdesk.domain.warnings import WarningRef
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.dispatch.units_model import STATUS_ORDER, UnitColumn, UnitsTableModel
from dispatchdesk.gui.warnings.flags import IncidentWarnings
from dispatchdesk.gui.warnings.texts import expiry_line, warning_ref, what_it_is
from dispatchdesk.sync.api import DeskCommands

#: Completer item role holding the bare callsign (what is matched and put in the field).
CALLSIGN_ROLE = Qt.ItemDataRole.UserRole.value

#: Reallocation list item role holding the unit id.
UNIT_ID_ROLE = Qt.ItemDataRole.UserRole.value

SENT_NOTE = "Assignment sent — pending until the server confirms."

DIVERT_NOTE = (
    "Divert sent — pending until the server confirms. {left} stays owed until "
    "another unit arrives there."
)


def short_ref(ref: str) -> str:
    """ "CAD 7/23NOV26" → "CAD 7": enough to name an incident in a sentence."""
    return ref.split("/", 1)[0]


def distance_text(ranked: RankedUnit) -> str:
    """ "1.2 km", or only what the borough says when a position is unknown."""
    if ranked.distance_km is not None:
        return f"{ranked.distance_km:.1f} km"
    return "same borough" if ranked.same_borough else "other borough"


def completion_text(unit: Unit, incident_ref: Callable[[int], str]) -> str:
    """ "LX21 — Available — IRV — Camden" (and the incident, for a unit on one)."""
    text = f"{unit.callsign} — {unit.status.label} — {unit.kind} — {unit.borough}"
    if unit.incident_id is not None:
        text += f" — on {incident_ref(unit.incident_id)}"
    return text


def close_matches(typed: str, callsigns: Sequence[str], limit: int = 5) -> list[str]:
    """Callsigns containing ``typed``, then those spelt like it (case-insensitive)."""
    needle = typed.strip().casefold()
    if not needle:
        return []
    by_fold = {c.casefold(): c for c in callsigns}
    found = [c for f, c in sorted(by_fold.items()) if needle in f]
    found += [
        by_fold[f]
        for f in difflib.get_close_matches(needle, list(by_fold), n=limit)
        if by_fold[f] not in found
    ]
    return found[:limit]


def owed_text(incident: Incident, timezone: str) -> str | None:
    """The owed warning for the dialog's header, or None when nothing is owed."""
    if not incident.owed:
        return None
    divert = incident.diverts[-1] if incident.diverts else None
    what = (
        "a unit was diverted away"
        if divert is None
        else f"{divert.callsign} {_gone(divert)} at {local(divert.at, timezone, '%H:%M')}"
    )
    tail = " and no unit is on it" if incident.needs_unit else ""
    return f"⚠ OWED: {what}{tail} — reallocate"


def _gone(divert: Divert) -> str:
    return "withdrawn before arriving" if divert.kind is DivertKind.WITHDRAWN else "diverted away"


def _passed_note(passed: Sequence[WarningRef]) -> str:
    n = len(passed)
    return f" Recorded: {n} warning{'s' if n != 1 else ''} passed to the unit." if n else ""


@dataclass
class _Watch:
    """A command this panel sent, followed until the outbox forgets it."""

    callsign: str
    seen: bool = False
    #: A divert's unit and reason: a refusal asks for the reason again, with the one sent.
    unit_id: int | None = None
    reason: str | None = None


class AssignPanel(QWidget):
    """Assign or divert units to one incident."""

    #: A command was sent: its id.
    sent = Signal(str)

    def __init__(
        self,
        incident: Incident,
        units: UnitsTableModel,
        commands: DeskCommands,
        incident_of: Callable[[int], Incident | None],
        timezone: str = DEFAULT_POLICY.timezone,
        parent: QWidget | None = None,
        *,
        warnings: IncidentWarnings | None = None,
    ) -> None:
        super().__init__(parent)
        self._incident = incident
        self._warnings = warnings
        #: The warnings listed, as (severity, what it is, expiry, ref) rows.
        self._warning_rows: list[tuple[str, str, str, WarningRef]] = []
        self._units = units
        self._commands = commands
        self._incident_of = incident_of
        self._timezone = timezone
        #: The busy unit waiting for a divert reason, if any.
        self._divert: Unit | None = None
        #: The callsign just sent (see :meth:`_completion_activated`).
        self._sent_callsign: str | None = None
        self._await_write_back = False
        self._watched: dict[str, _Watch] = {}
        self.ranked: list[RankedUnit] = []
        # What the completer and the list were last filled from: a unit's moving position
        # changes it often, and refilling an unchanged list would only disturb the operator.
        self._completions: list[tuple[str, str]] = []
        self._candidate_rows: list[tuple[str, ...]] = []
        self._build()
        self._connect()
        self.set_incident(incident)
        self._fleet_changed()

    # -- construction ----------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setWordWrap(True)
        font = QFont(self.title.font())
        font.setBold(True)
        self.title.setFont(font)
        self.owed = QLabel()
        self.owed.setWordWrap(True)
        self.owed.setProperty("role", "error")
        big = QFont(font)
        big.setPointSizeF(font.pointSizeF() * 1.2)
        self.owed.setFont(big)
        layout.addWidget(self.title)
        layout.addWidget(self.owed)
        layout.addWidget(self._build_warnings())
        layout.addLayout(self._build_callsign_row())
        layout.addWidget(self._build_reason())
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Assignment message")
        layout.addWidget(self.message)
        list_label = QLabel("&Nearest available units (Enter assigns)")
        self.candidates = QTreeWidget()
        self.candidates.setColumnCount(4)
        self.candidates.setHeaderLabels(("Callsign", "Type", "Borough", "Distance"))
        self.candidates.setRootIsDecorated(False)
        self.candidates.setAllColumnsShowFocus(True)
        self.candidates.setAccessibleName("Nearest available units")
        list_label.setBuddy(self.candidates)
        layout.addWidget(list_label)
        layout.addWidget(self.candidates, 1)

    def _build_warnings(self) -> QWidget:
        self.warnings_box = QWidget()
        layout = QVBoxLayout(self.warnings_box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.warnings_heading = QLabel()
        self.warnings_heading.setWordWrap(True)
        self.warnings_heading.setProperty("role", "error")
        font = QFont(self.warnings_heading.font())
        font.setBold(True)
        self.warnings_heading.setFont(font)
        self.warning_list = QTreeWidget()
        self.warning_list.setColumnCount(3)
        self.warning_list.setHeaderLabels(("Severity", "What it is", "Expiry"))
        self.warning_list.setRootIsDecorated(False)
        self.warning_list.setAllColumnsShowFocus(True)
        self.warning_list.setAccessibleName("Warnings for this incident")
        self.warning_list.setMaximumHeight(120)
        self.warnings_heading.setBuddy(self.warning_list)
        self.pass_warnings = QCheckBox("&Pass these warnings to the unit")
        self.pass_warnings.setChecked(True)
        self.pass_warnings.setAccessibleDescription(
            "Ticked: the assignment records that the unit was told of every warning listed."
        )
        for widget in (self.warnings_heading, self.warning_list, self.pass_warnings):
            layout.addWidget(widget)
        self.warnings_box.hide()
        return self.warnings_box

    def _build_callsign_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        label = QLabel("&Callsign")
        self.callsign = QLineEdit()
        self.callsign.setPlaceholderText("Type part of a callsign, then Enter")
        self.callsign.setAccessibleName("Callsign to assign")
        label.setBuddy(self.callsign)
        self.completion_model = QStandardItemModel(self)
        self.completer = QCompleter(self.completion_model, self)
        self.completer.setCompletionRole(CALLSIGN_ROLE)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.callsign.setCompleter(self.completer)
        self.assign_button = QPushButton("&Assign")
        self.assign_button.setAutoDefault(False)  # Enter belongs to the field, not a button
        for widget, stretch in ((label, 0), (self.callsign, 1), (self.assign_button, 0)):
            row.addWidget(widget, stretch)
        return row

    def _build_reason(self) -> QWidget:
        self.reason_box = QWidget()
        layout = QVBoxLayout(self.reason_box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.divert_warning = QLabel()
        self.divert_warning.setWordWrap(True)
        self.divert_warning.setProperty("role", "error")
        row = QHBoxLayout()
        label = QLabel("Divert &reason")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why this unit is needed here more (required)")
        self.reason.setAccessibleName("Divert reason")
        label.setBuddy(self.reason)
        self.divert_button = QPushButton("&Divert")
        self.divert_button.setAutoDefault(False)
        for widget, stretch in ((label, 0), (self.reason, 1), (self.divert_button, 0)):
            row.addWidget(widget, stretch)
        layout.addWidget(self.divert_warning)
        layout.addLayout(row)
        self.reason_box.hide()
        return self.reason_box

    def _connect(self) -> None:
        self.callsign.returnPressed.connect(self.assign_typed)
        self.callsign.textEdited.connect(self._callsign_edited)
        # To clear the field after a send from the popup (see _completion_activated). The
        # stubs do not know that an overloaded signal is picked by its argument type.
        self.completer.activated[str].connect(  # type: ignore[index]
            self._completion_activated
        )
        self.callsign.textChanged.connect(self._callsign_changed)
        self.assign_button.clicked.connect(self.assign_typed)
        self.reason.returnPressed.connect(self.send_divert)
        self.divert_button.clicked.connect(self.send_divert)
        self.candidates.activated.connect(self._candidate_activated)
        units = self._units
        for signal in (units.modelReset, units.rowsInserted, units.rowsRemoved):
            signal.connect(self._fleet_changed)
        units.dataChanged.connect(self._units_data_changed)
        units.pending_changed.connect(self._pending_changed)
        if self._warnings is not None:
            self._warnings.changed.connect(self._warnings_changed)

    # -- what is shown ---------------------------------------------------------------------

    @property
    def incident(self) -> Incident:
        return self._incident

    def heading(self) -> str:
        i = self._incident
        return f"{i.ref} — {i.grade.value} ({i.grade.label}) — {i.location.one_line}"

    def set_incident(self, incident: Incident) -> None:
        """The incident changed on the server (owed, closed, moved): show it as it is now."""
        self._incident = incident
        self.title.setText(f"Assign a unit to {self.heading()}")
        owed = owed_text(incident, self._timezone)
        self.owed.setText(owed or "")
        self.owed.setAccessibleDescription(owed or "")
        self.owed.setVisible(owed is not None)
        closed = not incident.is_open
        for widget in (self.callsign, self.assign_button, self.candidates, self.reason_box):
            widget.setEnabled(not closed)
        if closed:
            self._say(f"{short_ref(incident.ref)} is closed: no unit can be sent to it.")
        self._fill_candidates()
        self._fill_warnings()

    def _warnings_changed(self, incident_ids: list[int]) -> None:
        if self._incident.id in incident_ids:
            self._fill_warnings()

    def _fill_warnings(self) -> None:
        """The incident's warnings as the queue's flags and Ctrl+W have them (memory only)."""
        source = self._warnings
        found = (
            source.for_incident(self._incident)
            if source is not None and self._incident.is_open
            else []
        )
        rows: list[tuple[str, str, str, WarningRef]] = []
        if source is not None and found:
            now, policy = source.now(), source.index.policy
            rows = [
                (w.severity.upper(), what_it_is(w), expiry_line(w, now, policy), warning_ref(w))
                for w in found
            ]
        if rows == self._warning_rows:
            return
        self._warning_rows = rows
        self.warning_list.clear()
        for severity, what, expiry, _ref in rows:
            self.warning_list.addTopLevelItem(QTreeWidgetItem([severity, what, expiry]))
        for column in range(3):
            self.warning_list.resizeColumnToContents(column)
        n = len(rows)
        self.warnings_heading.setText(
            f"⚠ {n} warning{'s' if n != 1 else ''} for this incident: tell the unit sent."
        )
        self.warnings_box.setVisible(bool(rows))

    def warnings_shown(self) -> list[WarningRef]:
        """The warnings listed, most severe first."""
        return [row[3] for row in self._warning_rows]

    def passed_refs(self) -> tuple[WarningRef, ...]:
        """What the next assign or divert records as passed to the unit."""
        if not self.pass_warnings.isChecked():
            return ()
        return tuple(self.warnings_shown())

    def _fleet_changed(self) -> None:
        self._fill_completer()
        self._fill_candidates()

    def _units_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        # Time-in-status ticks and pending text change nothing shown here; a changed unit may.
        if top_left.column() == bottom_right.column() and top_left.column() in (
            UnitColumn.TIME_IN_STATUS,
            UnitColumn.PENDING,
        ):
            return
        self._fleet_changed()

    def _fill_completer(self) -> None:
        units = sorted(
            self._units.units(), key=lambda u: (STATUS_ORDER[u.status], u.callsign.casefold())
        )
        wanted = [(completion_text(u, self._units.incident_ref), u.callsign) for u in units]
        if wanted == self._completions:
            return
        self._completions = wanted
        model = self.completion_model
        model.clear()
        for text, callsign in wanted:
            item = QStandardItem(text)
            item.setData(callsign, CALLSIGN_ROLE)
            item.setEditable(False)
            model.appendRow(item)

    def _fill_candidates(self) -> None:
        self.ranked = rank_for_incident(self._units.units(), self._incident.location)
        rows: list[tuple[str, ...]] = [
            (r.unit.callsign, r.unit.kind, r.unit.borough, distance_text(r)) for r in self.ranked
        ]
        if rows == self._candidate_rows:
            return
        self._candidate_rows = rows
        current = self.candidates.currentItem()
        keep = None if current is None else current.data(0, UNIT_ID_ROLE)
        self.candidates.clear()
        for ranked, row in zip(self.ranked, rows, strict=True):
            item = QTreeWidgetItem(list(row))
            item.setData(0, UNIT_ID_ROLE, ranked.unit.id)
            self.candidates.addTopLevelItem(item)
            if ranked.unit.id == keep:
                self.candidates.setCurrentItem(item)

    def candidate_callsigns(self) -> list[str]:
        """The reallocation list as shown, top first."""
        return [row[0] for row in self._candidate_rows]

    # -- choosing a unit -------------------------------------------------------------------

    def assign_typed(self) -> None:
        """Enter on the callsign field: assign (or ask for a divert reason for) that unit."""
        typed = self.callsign.text().strip()
        if not typed:
            self._say("Type a callsign, or choose a unit from the list and press Enter.")
            return
        unit = self._units.by_callsign(typed)
        if unit is None:
            self._unknown(typed)
            return
        self.choose_unit(unit.id)

    def _candidate_activated(self, index: QModelIndex) -> None:
        unit_id = index.siblingAtColumn(0).data(UNIT_ID_ROLE)
        if isinstance(unit_id, int):
            self.choose_unit(unit_id)

    def choose_unit(self, unit_id: int) -> None:
        """Act on ``unit_id`` as Enter would (also what a drop of a busy unit calls)."""
        unit = self._units.unit(unit_id)
        if unit is None:
            self._say("That unit is no longer in the fleet.")
            return
        self.callsign.setText(unit.callsign)
        if not self._incident.is_open:
            self._say(
                f"{short_ref(self._incident.ref)} is closed: no unit can be sent to it.", error=True
            )
        elif unit.incident_id == self._incident.id:
            self._say(
                f"{unit.callsign} is already on this incident ({unit.status.label}).", error=True
            )
        elif unit.status is UnitStatus.AVAILABLE:
            passed = self.passed_refs()
            self._send(
                unit,
                self._commands.assign_unit(unit, self._incident, passed),
                SENT_NOTE + _passed_note(passed),
            )
        elif unit.status.on_incident and unit.incident_id is not None:
            self._ask_reason(unit, unit.incident_id)
        else:
            self._say(
                f"{unit.callsign} is {unit.status.label}: it cannot be assigned. Set it "
                "Available on the units board first. Nothing was sent.",
                error=True,
            )

    def propose(self, unit_id: int) -> None:
        """A unit dropped on the incident: with warnings listed, an available unit is put in
        the field, not sent, so the warnings are read first (Enter sends it); otherwise as
        :meth:`choose_unit`."""
        unit = self._units.unit(unit_id)
        if (
            unit is not None
            and unit.status is UnitStatus.AVAILABLE
            and self._incident.is_open
            and self._warning_rows
        ):
            self.callsign.setText(unit.callsign)
            self.callsign.setFocus()
            self._say(
                f"{unit.callsign} is not sent yet: read the warnings above, then press "
                "Enter to assign it."
            )
            return
        self.choose_unit(unit_id)

    def _unknown(self, typed: str) -> None:
        matches = close_matches(typed, [u.callsign for u in self._units.units()])
        hint = (
            f" Close matches: {', '.join(matches)}."
            if matches
            else " Check the callsign; the list below shows the available units."
        )
        self._say(f"No unit has the callsign “{typed}”.{hint} Nothing was sent.", error=True)

    # -- divert ----------------------------------------------------------------------------

    def _ask_reason(self, unit: Unit, from_id: int) -> None:
        self._divert = unit
        self.divert_warning.setText(self.divert_text(unit, from_id))
        self.reason_box.show()
        self._say(f"{unit.callsign} is busy: give a reason to divert it, then Enter.")
        self.reason.setFocus()

    def divert_text(self, unit: Unit, from_id: int) -> str:
        """ "LX21 is on CAD 7/23NOV26 (I, Robbery). Diverting it leaves CAD 7 owed."."""
        other = self._incident_of(from_id)
        ref = other.ref if other is not None else self._units.incident_ref(from_id)
        what = f" ({other.grade.value}, {other.type})" if other is not None else ""
        return f"{unit.callsign} is on {ref}{what}. Diverting it leaves {short_ref(ref)} owed."

    def send_divert(self) -> None:
        """Enter on the reason: divert the busy unit, if a reason was given."""
        unit = self._divert
        if unit is None:
            return
        reason = self.reason.text().strip()
        if not reason:
            self._say(
                f"A divert needs a reason: say why {unit.callsign} is needed here. "
                "Nothing was sent.",
                error=True,
            )
            self.reason.setFocus()
            return
        # The unit may have moved since the reason was asked for: act on what it is now.
        current = self._units.unit(unit.id) or unit
        if not current.status.on_incident or current.incident_id is None:
            self._cancel_divert()
            self.choose_unit(current.id)
            return
        left = self._units.incident_ref(current.incident_id)
        passed = self.passed_refs()
        command_id = self._commands.divert_unit(current, self._incident, reason, passed)
        self._send(
            current, command_id, DIVERT_NOTE.format(left=short_ref(left)) + _passed_note(passed)
        )
        if command_id in self._watched:
            self._watched[command_id].unit_id = current.id
            self._watched[command_id].reason = reason

    def _cancel_divert(self) -> None:
        self._divert = None
        self.reason.clear()
        self.reason_box.hide()

    def _completion_activated(self, callsign: str) -> None:
        # Enter in the popup sends, and the completer then writes the callsign back into the
        # field (before or after this signal, depending on connection order): clear it again,
        # so a second Enter cannot send the same unit twice.
        if callsign != self._sent_callsign:
            return
        if self.callsign.text() == callsign:
            self._clear_sent()
        else:
            self._await_write_back = True

    def _callsign_changed(self, text: str) -> None:
        if self._await_write_back and text == self._sent_callsign:
            self._clear_sent()

    def _clear_sent(self) -> None:
        self._sent_callsign = None
        self._await_write_back = False
        self.callsign.clear()

    def _callsign_edited(self, text: str) -> None:
        # The completer's write-back also counts as an edit: only typing resets the guard.
        if text != self._sent_callsign:
            self._sent_callsign = None
            self._await_write_back = False
        # Another unit is being named: the reason asked for the previous one no longer fits.
        if self._divert is not None and text != self._divert.callsign:
            self._cancel_divert()

    # -- after sending ---------------------------------------------------------------------

    def _send(self, unit: Unit, command_id: str, note: str) -> None:
        self._cancel_divert()
        self._sent_callsign = unit.callsign
        self.callsign.clear()
        self.callsign.setFocus()
        seen = any(c.id == command_id for c in self._units.commands())
        self._watched[command_id] = _Watch(unit.callsign, seen)
        self._say(f"{unit.callsign}: {note}")
        self.sent.emit(command_id)

    def _pending_changed(self) -> None:
        by_id = {c.id: c for c in self._units.commands()}
        for command_id, watch in list(self._watched.items()):
            command = by_id.get(command_id)
            if command is None:
                if watch.seen:
                    del self._watched[command_id]
                continue
            watch.seen = True
            if command.state in (CommandState.FAILED, CommandState.HELD):
                del self._watched[command_id]
                unit = self._units.unit(watch.unit_id) if watch.unit_id is not None else None
                if (
                    command.state is CommandState.FAILED
                    and watch.reason is not None
                    and unit is not None
                    and unit.incident_id is not None
                    and unit.incident_id != self._incident.id
                ):  # the divert was refused: the reason again, to rework where it was typed
                    self._sent_callsign, self._await_write_back = None, False
                    self.callsign.setText(unit.callsign)
                    self._ask_reason(unit, unit.incident_id)
                    self.reason.setText(watch.reason)
                self._say(
                    f"{watch.callsign}: refused — {command.message or 'no reason given'}",
                    error=True,
                )

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setProperty("role", "error" if error else "note")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.setAccessibleDescription(text)


class AssignDialog(QDialog):
    """A non-modal window around :class:`AssignPanel` for one incident (Esc closes it)."""

    def __init__(
        self,
        incident: Incident,
        units: UnitsTableModel,
        commands: DeskCommands,
        incident_of: Callable[[int], Incident | None],
        timezone: str = DEFAULT_POLICY.timezone,
        parent: QWidget | None = None,
        *,
        warnings: IncidentWarnings | None = None,
    ) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.panel = AssignPanel(
            incident, units, commands, incident_of, timezone, self, warnings=warnings
        )
        close = QPushButton("Close")
        close.setAutoDefault(False)
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel, 1)
        layout.addLayout(buttons)
        self._retitle()
        self.resize(560, 460)
        self.panel.callsign.setFocus()

    def _retitle(self) -> None:
        self.setWindowTitle(f"Assign — {self.panel.heading()}")

    def set_incident(self, incident: Incident) -> None:
        self.panel.set_incident(incident)
        self._retitle()

    def prefill(self, unit_id: int) -> None:
        """Act on a unit chosen elsewhere (a drop): assign it (once the warnings are read, if
        the incident has any), or ask for the divert reason."""
        self.panel.propose(unit_id)
