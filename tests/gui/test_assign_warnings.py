"""The assign window shows the incident's warnings and the assign or divert says which were
passed to the unit (issue 9, item 9): F2, a dropped unit, a divert, warnings arriving while the
window is open, and unticking "Pass these warnings to the unit"."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.domain.warnings import WarningRef
from dispatchdesk.gui.dispatch.units_model import UNIT_MIME
from dispatchdesk.gui.queue.model import Column
from tests.gui.factories import RecordingCommands, clock, make_incident, make_unit
from tests.gui.test_operations import (
    flat,
    open_window,
    order_expiring_tomorrow,
    scheme_on_block,
)

ORDER, SCHEME = WarningRef("order", 8), WarningRef("scheme", 5)


def _window(qtbot, settings, commands):
    window = open_window(qtbot, commands, settings, clock())
    window.relay.on_state([make_incident(1, location=flat(2)), make_incident(2)], DEFAULT_POLICY)
    window.relay.on_units(
        [
            make_unit(1, "LX21"),
            make_unit(2, "LX22"),
            make_unit(3, "LX30", status=UnitStatus.ASSIGNED, incident_id=2),
        ],
        [],
        True,
    )
    index = WarningIndex()
    index.replace([scheme_on_block()], [order_expiring_tomorrow()])
    window.relay.on_warnings(index, frozenset())
    qtbot.waitUntil(lambda: not window.incident_warnings.busy)
    return window


def _enter(qtbot, dialog, callsign):
    dialog.panel.callsign.setText(callsign)
    dialog.panel.completer.popup().hide()
    qtbot.keyClick(dialog.panel.callsign, Qt.Key.Key_Return)


def test_f2_lists_the_warnings_and_the_assignment_passes_them(qtbot, settings):
    commands = RecordingCommands()
    window = _window(qtbot, settings, commands)
    window.selection_keeper.select_incident(1)
    qtbot.keyClick(window.table, Qt.Key.Key_F2)
    dialog = window.dispatch.assign_dialog
    assert dialog is not None and dialog.isVisible()
    panel = dialog.panel
    assert panel.warnings_box.isVisible()
    assert panel.warnings_heading.text().startswith("⚠ 2 warnings for this incident")
    rows = [
        [panel.warning_list.topLevelItem(r).text(c) for c in range(3)]
        for r in range(panel.warning_list.topLevelItemCount())
    ]
    assert rows[0][:2] == ["CRITICAL", "Protective order — Non-molestation order"]
    assert "TOMORROW" in rows[0][2]
    assert rows[1][:2] == ["HEIGHTENED", "Special scheme — Serial perpetrator"]
    assert "Officer in case" in rows[1][2]
    assert "Elm Road" not in " ".join(" ".join(r) for r in rows), "no address in the list"
    assert panel.pass_warnings.isChecked(), "passed by default"
    _enter(qtbot, dialog, "LX21")
    name, (unit, incident) = commands.calls[-1]
    assert (name, unit.callsign, incident.id) == ("assign_unit", "LX21", 1)
    assert commands.warnings_passed["cmd-1"] == (ORDER, SCHEME)
    assert "2 warnings passed" in panel.message.text()
    # Unticked: the record says none were passed.
    panel.pass_warnings.setChecked(False)
    _enter(qtbot, dialog, "LX22")
    assert commands.calls[-1][0] == "assign_unit"
    assert commands.warnings_passed["cmd-2"] == ()


def test_an_incident_without_warnings_shows_none_and_passes_none(qtbot, settings):
    commands = RecordingCommands()
    window = _window(qtbot, settings, commands)
    window.selection_keeper.select_incident(2)
    window.dispatch.assign()
    dialog = window.dispatch.assign_dialog
    assert dialog is not None and not dialog.panel.warnings_box.isVisible()
    _enter(qtbot, dialog, "LX21")
    assert commands.warnings_passed["cmd-1"] == ()


def _drop(window, unit_id, incident_id):
    row = window.proxy.proxy_row_of(incident_id)
    pos = window.table.visualRect(window.proxy.index(row, Column.REF)).center()
    mime = QMimeData()
    mime.setData(UNIT_MIME, str(unit_id).encode())
    how = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    viewport = window.table.viewport()
    QApplication.sendEvent(viewport, QDragEnterEvent(pos, *how))
    QApplication.sendEvent(viewport, QDragMoveEvent(pos, *how))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(pos), *how))


def test_a_unit_dropped_on_an_incident_with_warnings_waits_for_them_to_be_read(qtbot, settings):
    commands = RecordingCommands()
    window = _window(qtbot, settings, commands)
    _drop(window, 1, 2)  # no warnings on incident 2: assigned at once, as before
    assert commands.calls[-1][0] == "assign_unit" and commands.warnings_passed["cmd-1"] == ()
    _drop(window, 2, 1)
    dialog = window.dispatch.assign_dialog
    assert dialog is not None and dialog.isVisible()
    assert len(commands.calls) == 1, "not sent before the warnings are on screen"
    assert dialog.panel.callsign.text() == "LX22"
    assert "read the warnings above" in dialog.panel.message.text()
    qtbot.keyClick(dialog.panel.callsign, Qt.Key.Key_Return)
    name, (unit, incident) = commands.calls[-1]
    assert (name, unit.callsign, incident.id) == ("assign_unit", "LX22", 1)
    assert commands.warnings_passed["cmd-2"] == (ORDER, SCHEME)


def test_a_divert_passes_the_warnings_and_new_ones_appear_while_open(qtbot, settings):
    commands = RecordingCommands()
    window = _window(qtbot, settings, commands)
    # Only the scheme at first; the order arrives while the window is open.
    index = WarningIndex()
    index.replace([scheme_on_block()], [])
    window.relay.on_warnings(index, frozenset())
    qtbot.waitUntil(lambda: not window.incident_warnings.busy)
    _drop(window, 3, 1)  # LX30 is busy on incident 2: a divert, with a reason
    dialog = window.dispatch.assign_dialog
    assert dialog is not None
    panel = dialog.panel
    assert panel.warnings_shown() == [SCHEME]
    index = WarningIndex()
    index.replace([scheme_on_block()], [order_expiring_tomorrow()])
    window.relay.on_warnings(index, frozenset())
    qtbot.waitUntil(lambda: panel.warnings_shown() == [ORDER, SCHEME])
    assert panel.warnings_heading.text().startswith("⚠ 2 warnings")
    panel.reason.setText("Knife seen")
    qtbot.keyClick(panel.reason, Qt.Key.Key_Return)
    name, (unit, incident, reason) = commands.calls[-1]
    assert (name, unit.callsign, incident.id, reason) == ("divert_unit", "LX30", 1, "Knife seen")
    assert commands.warnings_passed["cmd-1"] == (ORDER, SCHEME)
    # A scheme that expires while the window is open leaves the list (and is not passed).
    window.relay.on_warnings(WarningIndex(), frozenset())
    qtbot.waitUntil(lambda: not panel.warnings_box.isVisible())
    assert panel.passed_refs() == ()
