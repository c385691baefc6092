"""Issue 9 on the desk: the incident panel lists the units on the incident (from the units
model, in memory) and offers only the status changes the server would take; the units board
asks for a reason, inline, before clearing a unit that has not arrived, saying the incident will
be owed; withdrawals read as such on the DIVERT tag list, the queue flags and the owed line."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt

from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.incident import Divert, DivertKind, IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.gui.dispatch.divert_csv import csv_row
from dispatchdesk.gui.dispatch.divert_model import DivertColumn, DivertTableModel
from dispatchdesk.gui.dispatch.units_board import UnitsBoard
from dispatchdesk.gui.dispatch.units_model import UnitsTableModel
from dispatchdesk.gui.incident.detail_panel import IncidentDetailPanel
from dispatchdesk.gui.queue.model import Column, IncidentTableModel, owed_words
from dispatchdesk.gui.queue.window import QueueWindow
from tests.gui.factories import T0, clock, make_incident, make_unit, minutes

REFS = {1: "CAD 1/23NOV26", 2: "CAD 2/23NOV26"}


def withdrawal(divert_id: int = 11, from_id: int = 1, **changes: object) -> Divert:
    fields: dict[str, object] = dict(
        id=divert_id,
        unit_id=21,
        callsign="LX21",
        from_incident_id=from_id,
        from_ref=f"CAD {from_id}/23NOV26",
        to_incident_id=None,
        to_ref=None,
        by="disp1",
        at=T0 + minutes(3),
        reason="Crew called to a collapse at the station",
        kind=DivertKind.WITHDRAWN,
    )
    fields.update(changes)
    return Divert(**fields)  # type: ignore[arg-type]


def panel_with_units(qtbot, commands, units, role=Role.DISPATCHER):
    model = UnitsTableModel(clock().now, REFS.get)
    model.set_units(units)
    panel = IncidentDetailPanel(commands, role, clock().now)
    qtbot.addWidget(panel)
    panel.watch_units(model)
    panel.show()
    return panel, model


# -- the detail panel ----------------------------------------------------------------------


def test_the_panel_lists_the_units_on_the_incident_and_follows_the_model(
    qtbot, commands, qtmodeltester
):
    panel, model = panel_with_units(
        qtbot,
        commands,
        [
            make_unit(
                1, "LX30", status=UnitStatus.ASSIGNED, incident_id=1, status_since=T0 + minutes(2)
            ),
            make_unit(
                2, "LX21", status=UnitStatus.AT_SCENE, incident_id=1, status_since=T0 + minutes(9)
            ),
            make_unit(3, "LX40", status=UnitStatus.ASSIGNED, incident_id=2),
            make_unit(4, "LX50"),
        ],
    )
    qtmodeltester.check(model)
    panel.show_incident(
        make_incident(1, status=IncidentStatus.AT_SCENE, attended_at=T0 + minutes(9))
    )
    # at scene first, then en route; times in the policy's zone (London: GMT in November)
    assert panel.units.text() == "LX21 — At scene since 09:09\nLX30 — En route since 09:02"
    assert panel.info_ui.unitsLabel.buddy() is panel.units
    assert [u.callsign for u in panel.units_on_incident()] == ["LX21", "LX30"]
    # the feed moves units: the list follows, with no call to anything but the model
    model.apply_units([make_unit(2, "LX21")], [])
    assert panel.units.text() == "LX30 — En route since 09:02"
    model.apply_units([make_unit(1, "LX30")], [])
    assert panel.units.text() == "none"
    panel.show_incident(make_incident(2, status=IncidentStatus.ASSIGNED))
    assert panel.units.text() == "LX40 — En route since 09:00"
    assert commands.calls == []


def test_status_buttons_offer_only_what_the_units_allow(qtbot, commands):
    panel, model = panel_with_units(
        qtbot, commands, [make_unit(1, "LX30", status=UnitStatus.ASSIGNED, incident_id=1)]
    )
    panel.show_incident(make_incident(1, status=IncidentStatus.ASSIGNED))
    for status in IncidentStatus.OPEN, IncidentStatus.ASSIGNED, IncidentStatus.AT_SCENE:
        assert not panel.status_buttons[status].isEnabled(), status
    at_scene = panel.status_buttons[IncidentStatus.AT_SCENE].toolTip()
    assert "arrive" in at_scene and "LX30" in at_scene and "Mark unit at scene" in at_scene
    assert "LX30" in panel.status_buttons[IncidentStatus.OPEN].toolTip()
    # asked anyway (a shortcut): refused in the panel with what to do, nothing sent
    panel.change_status(IncidentStatus.AT_SCENE)
    assert commands.calls == []
    assert panel.status_message.isVisible() and "arrive" in panel.status_message.text()
    # a row the units contradict (en route with no unit): OPEN is what the units say
    model.apply_units([make_unit(1, "LX30")], [])
    panel.update_incident(make_incident(1, status=IncidentStatus.ASSIGNED, version=2))
    assert panel.status_buttons[IncidentStatus.OPEN].isEnabled()
    assert not panel.status_buttons[IncidentStatus.AT_SCENE].isEnabled()
    panel.status_buttons[IncidentStatus.OPEN].click()
    assert commands.names() == ["change_status"]
    assert commands.calls[0][1][1] is IncidentStatus.OPEN


# -- the units board: clearing a unit that has not arrived ---------------------------------


def board_with(qtbot, commands, units):
    model = UnitsTableModel(clock().now, REFS.get)
    model.set_units(units)
    board = UnitsBoard(model, commands)
    qtbot.addWidget(board)
    board.resize(900, 400)
    board.show()
    return board, model


def test_clearing_the_last_unit_en_route_asks_for_a_reason_and_says_it_will_be_owed(
    qtbot, commands
):
    board, _ = board_with(
        qtbot, commands, [make_unit(1, "LX21", status=UnitStatus.ASSIGNED, incident_id=1)]
    )
    assert board.select_unit(1)
    board.act_clear.trigger()  # Ctrl+Shift+L (the keys are tested in test_units_board)
    assert commands.calls == []  # nothing sent before the reason
    assert board.withdraw_box.isVisible()
    warning = board.withdraw_text.text()
    assert "CAD 1/23NOV26" in warning and "OWED" in warning and "WITHDRAWN" in warning
    qtbot.waitUntil(board.withdraw_reason.hasFocus)
    # Enter with no reason: nothing sent, the operator is told why
    qtbot.keyClick(board.withdraw_reason, Qt.Key.Key_Return)
    assert commands.calls == [] and "needs a reason" in board.status_label.text()
    qtbot.keyClicks(board.withdraw_reason, "Crew called to a collapse at the station")
    qtbot.keyClick(board.withdraw_reason, Qt.Key.Key_Return)
    assert commands.names() == ["clear_unit"]
    unit, reason = commands.calls[0][1]
    assert unit.id == 1 and reason == "Crew called to a collapse at the station"
    assert board.withdraw_box.isHidden()
    assert "stays owed" in board.status_label.text()


def test_a_unit_with_another_on_its_incident_still_needs_a_reason_but_nothing_is_owed(
    qtbot, commands
):
    board, _ = board_with(
        qtbot,
        commands,
        [
            make_unit(1, "LX21", status=UnitStatus.ASSIGNED, incident_id=1),
            make_unit(2, "LX22", status=UnitStatus.ASSIGNED, incident_id=1),
            make_unit(3, "LX23"),
        ],
    )
    board.select_unit(1)
    board.clear()
    assert "LX22 is still on it" in board.withdraw_text.text()
    assert "not owed" in board.withdraw_text.text()
    # choosing another unit drops the question (the reason was for LX21)
    board.select_unit(3)
    assert board.withdraw_box.isHidden() and commands.calls == []


def test_a_unit_at_scene_is_cleared_at_once(qtbot, commands):
    board, _ = board_with(
        qtbot, commands, [make_unit(1, "LX21", status=UnitStatus.AT_SCENE, incident_id=1)]
    )
    board.select_unit(1)
    board.clear()
    assert board.withdraw_box.isHidden()
    assert commands.names() == ["clear_unit"] and commands.calls[0][1][1] is None


def test_a_unit_that_arrived_while_the_reason_was_typed_is_cleared_with_it(qtbot, commands):
    board, model = board_with(
        qtbot, commands, [make_unit(1, "LX21", status=UnitStatus.ASSIGNED, incident_id=1)]
    )
    board.select_unit(1)
    board.clear()
    model.apply_units([make_unit(1, "LX21", status=UnitStatus.AT_SCENE, incident_id=1)], [])
    board.withdraw_reason.setText("Crew needed elsewhere after a short stop")
    board.send_withdraw()
    assert commands.names() == ["clear_unit"]
    assert "stays owed" not in board.status_label.text()


# -- withdrawals in the lists and flags ----------------------------------------------------


def test_the_divert_list_shows_the_kind_and_no_target(qtmodeltester):
    model = DivertTableModel()
    model.set_incidents([make_incident(1, owed=True, diverts=(withdrawal(),))])
    qtmodeltester.check(model)
    [row] = model.diverts()
    assert model.cell_text(row, DivertColumn.TO) == "—"
    assert model.cell_text(row, DivertColumn.KIND) == "WITHDRAWN"
    assert model.cell_text(row, DivertColumn.STATE) == "OWED — no unit"
    assert model.headerData(DivertColumn.KIND, Qt.Orientation.Horizontal) == "Kind"
    csv = csv_row(model, row)
    assert csv[2] == "—" and csv[-1] == "WITHDRAWN"


def test_queue_flags_and_owed_line_say_withdrawn(qtbot):
    now = clock().now
    model = IncidentTableModel(now)
    withdrawn = make_incident(1, owed=True, diverts=(withdrawal(),))
    model.set_incidents([withdrawn], DEFAULT_POLICY)
    flags = model.index(0, Column.FLAGS)
    assert flags.data() == "WITHDRAWN: NO UNIT"
    words = owed_words(withdrawn, "Europe/London")
    assert "withdrawn before arriving" in words and "LX21 by disp1 at 09:03" in words
    assert "reallocate (F2)" in words
    escalated = withdrawn.with_changes(escalated_at=T0 + minutes(13))
    model.set_incidents([escalated], DEFAULT_POLICY)
    assert model.index(0, Column.FLAGS).data() == "WITHDRAWN: ESCALATED, NO UNIT"
    en_route = withdrawn.with_changes(status=IncidentStatus.ASSIGNED)
    model.set_incidents([en_route], DEFAULT_POLICY)
    assert model.index(0, Column.FLAGS).data() == "WITHDRAWN"


# -- the window: Dispatch ▸ Mark unit at scene -----------------------------------------------


def test_mark_unit_at_scene_sends_the_arrival_of_the_unit_en_route(qtbot, commands, tmp_path):
    settings = QSettings(str(tmp_path / "desk.ini"), QSettings.Format.IniFormat)
    fake = clock()
    window = QueueWindow(commands, Role.DISPATCHER, fake.now, "jsmith", settings)
    qtbot.addWidget(window)
    window.relay.on_state(
        [make_incident(1), make_incident(2, status=IncidentStatus.ASSIGNED)], DEFAULT_POLICY
    )
    window.relay.on_units(
        [make_unit(1, "LX21", status=UnitStatus.ASSIGNED, incident_id=2), make_unit(2, "LX22")],
        [],
        True,
    )
    assert window.act_at_scene.shortcut().toString() == "Ctrl+Shift+S"
    assert window.selection_keeper.select_incident(1)
    window.act_at_scene.trigger()
    assert commands.calls == [] and "No unit is en route" in window.message_bar.text()
    assert window.selection_keeper.select_incident(2)
    assert window.detail.units.text() == "LX21 — En route since 09:00"
    window.act_at_scene.trigger()
    assert commands.names() == ["arrive_unit"] and commands.calls[0][1][0].callsign == "LX21"


def test_a_refused_withdrawal_reason_asks_again_with_the_reason_sent(qtbot, commands):
    from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand

    board, model = board_with(
        qtbot, commands, [make_unit(1, "LX21", status=UnitStatus.ASSIGNED, incident_id=1)]
    )
    assert board.select_unit(1)
    board.act_clear.trigger()
    qtbot.keyClicks(board.withdraw_reason, "Stood down by the duty officer")
    qtbot.keyClick(board.withdraw_reason, Qt.Key.Key_Return)
    assert board.withdraw_box.isHidden()
    refused = PendingCommand(
        id="cmd-1",
        kind=CommandKind.CLEAR_UNIT,
        incident_id=None,
        description="Clear LX21",
        created_at=T0,
        state=CommandState.FAILED,
        message="The reason for standing the unit down reads like the stock phrase “duplicate "
        "incident”. Write what happened at this incident and why.",
        unit_id=1,
    )
    model.set_pending([refused])
    board.refusals.follow([refused])  # as the dispatch docks pass the outbox on
    assert board.withdraw_box.isVisible()
    assert board.withdraw_reason.text() == "Stood down by the duty officer"
    assert "Clear LX21: Refused by the server: The reason for standing" in (
        board.status_label.text()
    )
