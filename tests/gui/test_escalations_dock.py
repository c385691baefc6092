"""Issue 15 item 5: the escalations are a dock of the queue window (moved, floated, hidden like
the others, never on top of other windows), quiet when none waits, loud when one arrives
(red header, count in the tab, sound, taskbar attention), Esc back to the queue, and the row
holding the keyboard outlined."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget

from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.dispatch import escalations as escalations_module
from dispatchdesk.gui.dispatch.escalations import ESCALATION_SOUND, QUIET_TEXT
from tests.gui.factories import make_incident, open_queue_window
from tests.gui.test_escalations import RecordingSounds, escalated


def supervisor_window(qtbot, commands, settings, fake_clock, monkeypatch):
    alerts: list[object] = []
    monkeypatch.setattr(
        escalations_module.QApplication,
        "alert",
        staticmethod(lambda widget, msec=0: alerts.append(widget)),
    )
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    sounds = RecordingSounds()
    window.dispatch.escalations._sounds = sounds
    window.relay.on_state([make_incident(5)], DEFAULT_POLICY)
    return window, sounds, alerts


def test_a_dock_like_the_others_and_quiet_when_empty(
    qtbot, commands, settings, fake_clock, monkeypatch
):
    window, sounds, alerts = supervisor_window(qtbot, commands, settings, fake_clock, monkeypatch)
    notifier = window.dispatch.escalations
    dock = notifier.dock
    assert isinstance(dock, QDockWidget) and dock.objectName() == "escalationsDock"
    assert window.dockWidgetArea(dock) is Qt.DockWidgetArea.BottomDockWidgetArea
    assert dock in window.tabifiedDockWidgets(window.dispatch.units_dock)
    features = dock.features()
    for feature in (
        QDockWidget.DockWidgetFeature.DockWidgetMovable,
        QDockWidget.DockWidgetFeature.DockWidgetFloatable,
        QDockWidget.DockWidgetFeature.DockWidgetClosable,
    ):
        assert features & feature
    assert dock.toggleViewAction() in window.menuBar().actions()[2].menu().actions()
    assert not notifier.window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    # F9 with none: the dock, quietly (no red, no "ESCALATED — 0").
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_F9)
    header = notifier.window.header
    assert dock.isVisible() and header.text() == QUIET_TEXT
    assert header.property("state") == "quiet" and "ESCALATED" not in header.text()
    assert dock.windowTitle() == "Escalations"
    assert header.hasFocus()
    qtbot.keyClick(header, Qt.Key.Key_Escape)  # back to the queue, the dock stays
    assert window.table.hasFocus() and dock.isVisible()
    assert sounds.played == [] and alerts == []
    dock.toggleViewAction().trigger()  # hidden like any dock
    assert dock.isHidden()


def test_loud_when_one_arrives_without_taking_the_keyboard(
    qtbot, commands, settings, fake_clock, monkeypatch
):
    window, sounds, alerts = supervisor_window(qtbot, commands, settings, fake_clock, monkeypatch)
    notifier, dock = window.dispatch.escalations, window.dispatch.escalations.dock
    window.dispatch.show_units()  # the units board is the tab in front
    window.table.setFocus()
    window.relay.on_changes([escalated(1)], [])
    assert dock.isVisible() and not dock.visibleRegion().isEmpty()  # brought to the front
    assert window.dispatch.units_board.visibleRegion().isEmpty()
    assert dock.windowTitle() == "⚠ Escalations (1)"
    assert notifier.window.header.property("state") == "alert"
    assert sounds.played == [ESCALATION_SOUND]
    assert alerts == [window]  # the taskbar entry asks for attention
    assert window.table.hasFocus()  # the keyboard stays where the supervisor was
    window.relay.on_changes([escalated(1, summary="more")], [])  # not new: silent
    assert sounds.played == [ESCALATION_SOUND] and len(alerts) == 1
    # F9: the keyboard into the list; the row holding it is outlined.
    qtbot.keyClick(window.table, Qt.Key.Key_F9)
    row = notifier.window.rows[1]
    qtbot.waitUntil(row.open_button.hasFocus)
    assert row.property("focused") is True
    qtbot.keyClick(row.open_button, Qt.Key.Key_Tab)
    qtbot.keyClick(row.ack_button, Qt.Key.Key_Space)
    assert dock.isVisible() and dock.windowTitle() == "Escalations"  # quiet again, in place
    assert notifier.window.header.text() == QUIET_TEXT


def test_floating_dock_asks_attention_for_itself(
    qtbot, commands, settings, fake_clock, monkeypatch
):
    window, _sounds, alerts = supervisor_window(qtbot, commands, settings, fake_clock, monkeypatch)
    dock = window.dispatch.escalations.dock
    dock.setFloating(True)
    window.relay.on_changes([escalated(2)], [])
    assert alerts == [dock]
    assert not dock.windowFlags() & Qt.WindowType.WindowStaysOnTopHint


def test_no_dock_for_dispatchers(qtbot, commands, settings, fake_clock):
    window = open_queue_window(qtbot, commands, settings, fake_clock, Role.DISPATCHER)
    assert window.dispatch.escalations.dock is None
    assert window.findChild(QDockWidget, "escalationsDock") is None


def test_stand_alone_window_hides_on_esc(qtbot):
    notifier = escalations_module.EscalationNotifier(
        Role.SUPERVISOR, lambda: make_incident(1).created_at
    )
    notifier.show_window()
    window = notifier.window
    qtbot.addWidget(window)
    assert window.isVisible() and window.header.text() == QUIET_TEXT
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert not window.isVisible()
