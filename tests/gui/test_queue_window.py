"""QueueWindow and its DeskRelay: wiring, roles, shortcuts, settings, theme."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.commands import (
    CommandKind,
    CommandState,
    ConnectionInfo,
    ConnectionState,
    PendingCommand,
)
from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.domain.reference import LONDON_LISTS, ReferenceLists
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.common.theme import apply_theme, countdown_colours
from dispatchdesk.gui.queue.layout_keeper import layout_group, screen_setup
from dispatchdesk.gui.queue.model import Column
from dispatchdesk.gui.queue.window import QueueWindow, replay
from dispatchdesk.gui.relay import DeskRelay
from dispatchdesk.sync.api import DeskListener
from tests.gui.factories import T0, make_incident, make_unit, minutes, open_queue_window


def open_window(qtbot, commands, settings, fake_clock, role=Role.SUPERVISOR):
    return open_queue_window(qtbot, commands, settings, fake_clock, role)


def sample():
    return [
        make_incident(1, grade=Grade.SIGNIFICANT, borough="Hackney"),
        make_incident(2, grade=Grade.IMMEDIATE),
        make_incident(3, grade=Grade.EXTENDED, status=IncidentStatus.CLOSED),
    ]


def test_title_and_state(qtbot, qtmodeltester, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    assert window.windowTitle() == "Dispatch Desk — jsmith (Supervisor)"
    window.relay.on_state(sample(), DEFAULT_POLICY)
    assert window.count_label.text() == "2 of 3 shown"
    assert window.proxy.incident_at(0).id == 2  # most urgent first
    window.relay.on_changes([make_incident(4, created_at=T0 - minutes(20))], [1])
    assert window.count_label.text() == "2 of 3 shown"
    qtmodeltester.check(window.proxy)
    qtmodeltester.check(window.model)


def test_supervisor_sees_delay_strip_call_handler_does_not(qtbot, commands, settings, fake_clock):
    sup = open_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    sup.relay.on_state(sample(), DEFAULT_POLICY)
    assert sup.delay_strip.isVisible()
    assert sup.delay_strip.texts()[0].startswith("I: 1 on track")
    handler = open_window(qtbot, commands, settings, fake_clock, Role.CALL_HANDLER)
    assert handler.delay_strip.isHidden()
    assert not handler.act_close.isVisible() and not handler.act_close.isEnabled()
    assert handler.act_new.isVisible() and handler.act_regrade.isVisible()
    assert handler.detail.close_box.isHidden()


def test_offline_banner_age_updates_on_tick(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    fake_clock.advance(minutes(6))
    window.relay.on_connection(ConnectionInfo(ConnectionState.OFFLINE, T0))
    assert window.banner.isVisible() and "OFFLINE" in window.banner.text()
    assert "6 min old" in window.banner.text()
    fake_clock.advance(minutes(2))
    window.ticker.tick()
    assert "8 min old" in window.banner.text()
    window.relay.on_connection(ConnectionInfo(ConnectionState.ONLINE, fake_clock.now()))
    assert window.banner.isHidden()


def test_the_status_bar_names_the_api_node_in_use(qtbot, commands, settings, fake_clock):
    """With several API nodes configured, which one the desk is on; nothing with one."""
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_connection(ConnectionInfo(ConnectionState.ONLINE, T0))
    assert window.server_label.isHidden()
    window.relay.on_connection(
        ConnectionInfo(ConnectionState.ONLINE, T0, server="https://cad-a.example:8700")
    )
    assert window.server_label.isVisible()
    assert window.server_label.text() == "Server: cad-a.example:8700"
    window.relay.on_connection(
        ConnectionInfo(ConnectionState.CONNECTING, T0, server="https://cad-b.example:8700")
    )
    assert window.server_label.text() == "Server: cad-b.example:8700 (connecting)"
    assert window.server_label.accessibleName() == window.server_label.text()


def test_problems_stay_until_dismissed(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    window.show_problem("Malformed change ignored")
    window.show_problem("Regrade refused")
    assert window.message_bar.isVisible()
    assert window.message_bar.text() == "(2 messages) Regrade refused"
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert window.message_bar.isHidden()


def test_keyboard_shortcuts(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_state(sample(), DEFAULT_POLICY)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.search
    qtbot.keyClicks(window.search, "CAD 1/")
    qtbot.keyClick(window.search, Qt.Key.Key_Return)  # back to the queue, first row
    assert QApplication.focusWidget() is window.table
    assert window.selection_keeper.selected_incident().id == 1
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    assert window.detail.incident.id == 1
    assert QApplication.focusWidget() is window.detail.grade
    qtbot.keyClick(window.detail.grade, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is window.table
    qtbot.keyClick(window.table, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.detail.grade
    assert window.count_label.text().startswith("⚠ FILTERED: 1 of 3 shown")
    qtbot.keyClick(window.table, Qt.Key.Key_F5)
    assert window.count_label.text() == "2 of 3 shown"
    assert window.search.text() == "" and window.proxy.rowCount() == 2
    qtbot.keyClick(window.table, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert Grade.IMMEDIATE not in window.proxy.grades
    assert window.grade_buttons[Grade.IMMEDIATE].text() == "✗ I"
    assert [window.proxy.incident_at(r).id for r in range(window.proxy.rowCount())] == [1]
    # The selection (incident 2, grade I) is hidden now: closing it is refused (issue 15).
    qtbot.keyClick(
        window,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert "CAD 2/23NOV26 is hidden by the filters" in window.message_bar.text()
    assert QApplication.focusWidget() is not window.detail.rationale
    window.selection_keeper.select_incident(1)
    qtbot.keyClick(
        window,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert QApplication.focusWidget() is window.detail.rationale


def test_new_incident_is_non_modal_and_submits(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = window.incidents.new_incident_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    qtbot.waitUntil(dialog.isActiveWindow)
    qtbot.keyClicks(dialog.address, "1 Acacia Avenue")
    qtbot.keyClick(dialog.address, Qt.Key.Key_Escape)  # asks first, keeps the text
    assert dialog.isVisible() and dialog.address.text() == "1 Acacia Avenue"
    dialog.postcode.setText("N1 9GU")
    dialog.borough.setEditText("Islington")
    dialog.type.setEditText("Concern for welfare")
    dialog.set_grade(Grade.IMMEDIATE)
    dialog.summary.setPlainText("Elderly neighbour not seen for three days")
    dialog.submit()
    assert commands.names() == ["create_incident"]
    assert commands.calls[0][1][0].location.postcode == "N1 9GU"
    qtbot.waitUntil(lambda: window.incidents.new_incident_dialog is None)


def test_new_incident_form_checks_against_the_snapshot_lists(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_state(sample(), replace(DEFAULT_POLICY, reference=LONDON_LISTS))
    window.incidents.new_incident()
    dialog = window.incidents.new_incident_dialog
    assert dialog is not None and dialog.reference == LONDON_LISTS
    dialog.borough.setEditText("Narnia")
    assert "not a borough this server knows" in dialog.errors()["borough"]
    # a later snapshot with other lists reaches the open form
    other = ReferenceLists(boroughs=("Narnia",))
    window.relay.on_state(sample(), replace(DEFAULT_POLICY, reference=other))
    assert dialog.reference == other and "borough" not in dialog.errors()
    assert dialog.borough.currentText() == "Narnia"


def test_failed_command_shows_commands_dock_and_flag(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_state(sample(), DEFAULT_POLICY)
    window.commands_dock.hide()
    failed = PendingCommand(
        id="c1",
        kind=CommandKind.UPDATE_INCIDENT,
        incident_id=2,
        description="Regrade",
        created_at=T0,
        state=CommandState.FAILED,
        message="Stale version",
    )
    window.relay.on_commands([failed])
    assert window.commands_dock.isVisible()
    assert "1 need your decision" in window.commands_dock.windowTitle()
    row = window.model.row_of(2)
    assert "failed" in window.model.data(window.model.index(row, Column.FLAGS))


def test_geometry_and_docks_restored(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    window.resize(790, 503)
    size = window.size()
    window.commands_dock.hide()
    with qtbot.waitSignal(window.closed):
        window.close()
    again = QueueWindow(commands, Role.SUPERVISOR, fake_clock.now, "jsmith", settings)
    qtbot.addWidget(again)
    assert again.height() == size.height() == 503  # offscreen screen is 800 wide
    assert settings.value(layout_group(screen_setup()) + "/geometry") is not None
    again.show()
    assert again.commands_dock.isHidden()


def test_shortcuts_window_lists_actions(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock, Role.CALL_HANDLER)
    window.show_shortcuts()
    rows = dict(window.shortcuts_window.rows)
    assert rows["New incident…"] == "Ctrl+N"
    assert rows["Regrade…"] == "Ctrl+G"
    assert "Search the queue" in rows
    assert rows["Discard the selected command"] == "Del"
    assert "Close incident…" not in rows  # call handlers cannot close
    assert not window.shortcuts_window.isModal()


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.SUPERVISOR])
def test_f1_lists_the_incident_panels_task_and_link_keys(
    qtbot, commands, settings, fake_clock, role
):
    window = open_window(qtbot, commands, settings, fake_clock, role)
    qtbot.keyClick(window.table, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: window.shortcuts_window is not None)
    assert window.shortcuts_window is not None and window.shortcuts_window.isVisible()
    rows = dict(window.shortcuts_window.rows)
    assert rows["Record the selected task done (incident panel)"] == "Ctrl+Return, Ctrl+Enter"
    assert rows["Record the selected task not done (incident panel)"] == (
        "Ctrl+Shift+Return, Ctrl+Shift+Enter"
    )
    assert rows["Link the highlighted incident"] == "Ctrl+L"
    assert rows["Remove the highlighted link (incident panel)…"] == "Del"


def test_f1_for_a_call_handler_lists_linking_but_not_removing_nor_tasks(
    qtbot, commands, settings, fake_clock
):
    window = open_window(qtbot, commands, settings, fake_clock, Role.CALL_HANDLER)
    window.show_shortcuts()
    rows = dict(window.shortcuts_window.rows)
    assert rows["Link the highlighted incident"] == "Ctrl+L"
    assert not any("link" in text and "Remove" in text for text in rows)
    assert not any("task" in text for text in rows)


def test_high_contrast_theme(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_state(sample(), DEFAULT_POLICY)
    try:
        window.set_theme("high-contrast")
        row = window.model.row_of(2)
        bg = window.model.data(
            window.model.index(row, Column.COUNTDOWN), Qt.ItemDataRole.BackgroundRole
        )
        assert bg == countdown_colours("high-contrast")[CountdownState.ON_TRACK].background
        assert settings.value("ui/theme") == "high-contrast"
    finally:
        apply_theme(QApplication.instance(), "normal")


def test_theme_colours_distinguishable():
    for theme in ("normal", "high-contrast"):
        colours = countdown_colours(theme)
        backgrounds = {c.background.name() for c in colours.values()}
        assert len(backgrounds) == len(colours)
    with pytest.raises(ValueError, match="unknown theme"):
        countdown_colours("dark")


def test_listener_drives_window(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    listener: DeskListener = window.relay
    listener.on_state(sample(), DEFAULT_POLICY)
    assert window.model.rowCount() == 3
    listener.on_changes([make_incident(9)], [3])
    assert window.model.incident(9) is not None and window.model.incident(3) is None
    listener.on_connection(ConnectionInfo(ConnectionState.OFFLINE, T0))
    assert window.banner.isVisible()
    listener.on_commands([])
    listener.on_problem("Something to read")
    assert "Something to read" in window.message_bar.text()


def test_relay_signals_signed_out_and_a_closed_window_lets_go(
    qtbot, commands, settings, fake_clock
):
    relay = DeskRelay()
    window = QueueWindow(commands, Role.SUPERVISOR, fake_clock.now, "jsmith", settings, relay=relay)
    qtbot.addWidget(window)
    with qtbot.waitSignal(relay.signed_out) as signed_out:
        relay.on_signed_out("Not signed in to the server: the session has expired.")
    assert signed_out.args == ["Not signed in to the server: the session has expired."]
    assert "the session has expired" in window.message_bar.text(), "the operator reads why"
    # A problem is only a problem: the engine says signed-out with on_signed_out, never in words.
    with qtbot.assertNotEmitted(relay.signed_out):
        relay.on_problem("Not signed in to the server: token revoked")
    relay.on_state(sample(), DEFAULT_POLICY)
    assert window.model.rowCount() == 3
    window.close()
    relay.on_state([], DEFAULT_POLICY)
    relay.on_problem("after the close")
    assert window.model.rowCount() == 3, "a closed window follows the feed no more"
    assert "after the close" not in window.message_bar.text()


def test_replay_hands_the_queue_units_and_warnings_to_the_next_window(
    qtbot, commands, settings, fake_clock
):
    relay = DeskRelay()
    old = QueueWindow(commands, Role.CALL_HANDLER, fake_clock.now, "jsmith", settings, relay=relay)
    qtbot.addWidget(old)
    relay.on_state(sample(), DEFAULT_POLICY)
    relay.on_units([make_unit(1, "LX21")], [], True)
    new = QueueWindow(commands, Role.SUPERVISOR, fake_clock.now, "jsmith", settings, relay=relay)
    qtbot.addWidget(new)
    old.close()
    replay(old, relay)
    assert new.model.rowCount() == 3 and [u.callsign for u in new.units()] == ["LX21"]
    assert new.incident_warnings.index is old.incident_warnings.index


def test_selected_incident_removed_is_announced(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_state(sample(), DEFAULT_POLICY)
    assert window.selection_keeper.select_incident(1)
    assert window.detail.incident.id == 1
    window.relay.on_changes([], [1])
    assert window.detail.incident is None
    assert "removed" in window.message_bar.text()


def test_detail_stays_when_incident_filtered_out(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_state(sample(), DEFAULT_POLICY)
    window.selection_keeper.select_incident(1)
    window.relay.on_changes(
        [
            make_incident(
                1, grade=Grade.SIGNIFICANT, status=IncidentStatus.CLOSED, borough="Hackney"
            )
        ],
        [],
    )
    assert window.detail.incident.id == 1
    assert window.detail.incident.status is IncidentStatus.CLOSED
    assert not window.table.currentIndex().isValid()
    window.selection_keeper.select_incident(2)
    assert window.detail.incident.id == 2


def test_selection_survives_snapshot(qtbot, commands, settings, fake_clock):
    window = open_window(qtbot, commands, settings, fake_clock)
    window.relay.on_state(sample(), DEFAULT_POLICY)
    window.selection_keeper.select_incident(1)
    window.relay.on_state(sample(), DEFAULT_POLICY)
    assert window.selection_keeper.selected_incident().id == 1
    assert window.detail.incident.id == 1


class _Emitter(QObject):
    flag = Signal(bool)


def test_bool_signal_emitted_100k_times(qapp):
    """PySide6 6.12.0 dropped a reference to True per emit and died with bool_dealloc."""
    emitter = _Emitter()
    seen = [0]

    def count(value: bool) -> None:
        seen[0] += value

    emitter.flag.connect(count)
    for _ in range(100_000):
        emitter.flag.emit(True)
    assert seen[0] == 100_000
