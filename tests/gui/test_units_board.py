"""UnitsTableModel, its filter proxy, and the UnitsBoard: text, colour, ticks, pending, actions."""

from __future__ import annotations

from datetime import datetime

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor

from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.gui.dispatch.units_board import READ_ONLY_REASON, UnitsBoard
from dispatchdesk.gui.dispatch.units_model import (
    UNIT_MIME,
    UNIT_ROLE,
    UnitColumn,
    UnitsTableModel,
    format_time_in_status,
    status_colours,
    unit_ids_from_mime,
)
from dispatchdesk.gui.dispatch.units_proxy import UnitsFilterProxy
from tests.gui.factories import T0, RecordingCommands, clock, make_unit, minutes

REFS = {7: "CAD 7/23NOV26", 12: "CAD 12/23NOV26"}


def fleet():
    return [
        make_unit(1, "LX10", kind="IRV", borough="Camden"),
        make_unit(
            2,
            "LX2",
            kind="Dog",
            borough="Hackney",
            status=UnitStatus.ASSIGNED,
            incident_id=7,
            status_since=T0 - minutes(12),
        ),
        make_unit(3, "AB1", kind="Van", borough="Camden", status=UnitStatus.OFF_DUTY),
        make_unit(
            4,
            "LX3",
            kind="IRV",
            borough="Islington",
            status=UnitStatus.AT_SCENE,
            incident_id=12,
            status_since=T0 - minutes(65),
        ),
        make_unit(5, "KD1", kind="IRV", borough="Camden", status=UnitStatus.COMMITTED),
        make_unit(6, "AA9", kind="IRV", borough="Hackney"),
    ]


def build(units=None, now=None):
    fake = clock()
    model = UnitsTableModel(now or fake.now, REFS.get)
    model.set_units(fleet() if units is None else units)
    return model, fake


def text(model, unit_id, column):
    return model.index(model.row_of(unit_id), column).data()


def command(kind, state, unit_id, incident_id=None, message=None, cid="c1", body=None):
    return PendingCommand(
        id=cid,
        kind=kind,
        incident_id=incident_id,
        description="d",
        created_at=T0,
        state=state,
        message=message,
        unit_id=unit_id,
        body=body,
    )


def callsigns(board: UnitsBoard) -> list[str]:
    return [board.proxy.unit_at(r).callsign for r in range(board.proxy.rowCount())]


# -- model -----------------------------------------------------------------------------------


def test_model_passes_modeltester_through_changes(qtmodeltester):
    model, _ = build()
    qtmodeltester.check(model)
    model.apply_units([make_unit(1, "LX10", status=UnitStatus.COMMITTED), make_unit(9, "NEW")], [3])
    model.apply_units([], [9, 42])
    model.set_units([])
    qtmodeltester.check(model)


def test_cells_show_text_and_status_colour():
    model, _ = build()
    assert [text(model, 2, c) for c in UnitColumn] == [
        "LX2",
        "Dog",
        "Hackney",
        "En route",
        "12 min",
        "CAD 7/23NOV26",
        "",
    ]
    assert text(model, 4, UnitColumn.TIME_IN_STATUS) == "1 h 05"
    assert text(model, 1, UnitColumn.INCIDENT) == ""
    status = model.index(model.row_of(2), UnitColumn.STATUS)
    fg, bg = status_colours("normal")[UnitStatus.ASSIGNED]
    assert status.data(Qt.ItemDataRole.ForegroundRole) == fg
    assert status.data(Qt.ItemDataRole.BackgroundRole) == bg
    # Colour is never alone: the status is in the text, and spoken with its name.
    assert status.data(Qt.ItemDataRole.AccessibleTextRole) == "Status: En route"
    assert status.data(UNIT_ROLE).callsign == "LX2"
    model.set_theme("high-contrast")
    assert status.data(Qt.ItemDataRole.BackgroundRole) == QColor("#1d4ed8")


def test_every_status_has_distinct_colours_in_both_themes():
    for theme in ("normal", "high-contrast"):
        backgrounds = {bg.name() for _fg, bg in status_colours(theme).values()}
        assert len(backgrounds) == len(UnitStatus)
    with pytest.raises(ValueError):
        status_colours("pink")


def test_unknown_incident_ref_falls_back_to_its_id():
    model, _ = build([make_unit(1, status=UnitStatus.ASSIGNED, incident_id=99)])
    assert text(model, 1, UnitColumn.INCIDENT) == "incident #99"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-30, "<1 min"),
        (0, "<1 min"),
        (59, "<1 min"),
        (60, "1 min"),
        (12 * 60 + 59, "12 min"),
        (3599, "59 min"),
        (3600, "1 h 00"),
        (3900, "1 h 05"),
        (26 * 3600 + 61, "26 h 01"),
    ],
)
def test_time_in_status_format(seconds, shown):
    assert format_time_in_status(seconds) == shown


def test_refresh_now_advances_time_in_status_and_reports_only_changed_rows(qtbot):
    model, fake = build([make_unit(1, status_since=T0), make_unit(2, status_since=T0)])
    model.apply_units([make_unit(2, status_since=T0 + minutes(0.5))], [])
    assert text(model, 1, UnitColumn.TIME_IN_STATUS) == "<1 min"
    fake.advance(45)  # unit 1: 45 s, unit 2: 15 s: no text changes
    with qtbot.assertNotEmitted(model.dataChanged):
        model.refresh_now()
    fake.advance(20)  # unit 1: 65 s -> "1 min"; unit 2: 35 s
    with qtbot.waitSignal(model.dataChanged) as blocker:
        model.refresh_now()
    top, bottom = blocker.args[0], blocker.args[1]
    assert (top.row(), bottom.row()) == (0, 0)
    assert top.column() == bottom.column() == UnitColumn.TIME_IN_STATUS
    assert text(model, 1, UnitColumn.TIME_IN_STATUS) == "1 min"
    fake.advance(minutes(64))
    model.refresh_now()
    assert text(model, 1, UnitColumn.TIME_IN_STATUS) == "1 h 05"
    assert text(model, 2, UnitColumn.TIME_IN_STATUS) == "1 h 04"


def test_apply_units_updates_inserts_and_removes():
    model, _ = build()
    model.apply_units(
        [make_unit(1, "LX10", status=UnitStatus.ASSIGNED, incident_id=12), make_unit(20, "ZZ20")],
        [3, 5],
    )
    assert model.rowCount() == 5
    assert model.unit(3) is None and model.unit(5) is None
    assert text(model, 1, UnitColumn.INCIDENT) == "CAD 12/23NOV26"
    assert model.unit(20).callsign == "ZZ20"
    assert [model.unit_at(r).id for r in range(model.rowCount())] == [1, 2, 4, 6, 20]
    assert model.by_callsign(" zz20 ").id == 20
    # An id both upserted and removed is kept.
    model.apply_units([make_unit(6, "AA9", kind="Van")], [6])
    assert model.unit(6).kind == "Van"


def test_pending_and_refused_text(qtbot):
    model, _ = build()
    with qtbot.waitSignal(model.pending_changed):
        model.set_pending(
            [
                command(CommandKind.ASSIGN_UNIT, CommandState.QUEUED, 1, 12, cid="a"),
                command(CommandKind.CLEAR_UNIT, CommandState.SENT, 2, cid="b"),
                command(
                    CommandKind.DIVERT_UNIT,
                    CommandState.FAILED,
                    4,
                    7,
                    message="unit is not on an incident",
                    cid="c",
                ),
                command(
                    CommandKind.ASSIGN_UNIT, CommandState.SENT, 4, 7, cid="d"
                ),  # the refusal wins
                command(
                    CommandKind.UNIT_STATUS,
                    CommandState.QUEUED,
                    5,
                    body={"status": "OFF_DUTY"},
                    cid="e",
                ),
                command(CommandKind.UPDATE_INCIDENT, CommandState.QUEUED, None, 12, cid="f"),
            ]
        )
    assert text(model, 1, UnitColumn.PENDING) == "assigning to CAD 12/23NOV26…"
    assert text(model, 2, UnitColumn.PENDING) == "clearing…"
    assert text(model, 4, UnitColumn.PENDING) == "refused: unit is not on an incident"
    assert text(model, 5, UnitColumn.PENDING) == "setting Off duty…"
    refused = model.index(model.row_of(4), UnitColumn.PENDING)
    assert refused.data(Qt.ItemDataRole.DecorationRole) is not None
    assert refused.data(Qt.ItemDataRole.ForegroundRole) == QColor("#b91c1c")
    with qtbot.waitSignal(model.dataChanged):
        model.set_pending([])
    assert text(model, 1, UnitColumn.PENDING) == ""


def test_held_command_says_so():
    model, _ = build()
    model.set_pending(
        [command(CommandKind.ARRIVE_UNIT, CommandState.HELD, 2, message="older than 10 minutes")]
    )
    assert text(model, 2, UnitColumn.PENDING) == "held: older than 10 minutes (see Commands)"


def test_mime_data_carries_the_unit_id():
    model, _ = build()
    row = model.row_of(4)
    mime = model.mimeData([model.index(row, c) for c in range(model.columnCount())])
    assert mime.hasFormat(UNIT_MIME)
    assert UNIT_MIME in model.mimeTypes()
    assert bytes(mime.data(UNIT_MIME).data()) == b"4"
    assert unit_ids_from_mime(mime) == [4]
    assert mime.text() == "LX3"
    assert model.flags(model.index(row, 0)) & Qt.ItemFlag.ItemIsDragEnabled
    assert model.supportedDragActions() == Qt.DropAction.CopyAction


# -- proxy -----------------------------------------------------------------------------------


def test_proxy_default_order_available_first_then_callsign(qtmodeltester):
    model, _ = build()
    proxy = UnitsFilterProxy(model)
    qtmodeltester.check(proxy)
    order = [proxy.unit_at(r).callsign for r in range(proxy.rowCount())]
    # Available (AA9, LX10), en route (LX2), at scene (LX3), committed (KD1), off duty (AB1)
    assert order == ["AA9", "LX10", "LX2", "LX3", "KD1", "AB1"]
    proxy.sort(UnitColumn.CALLSIGN, Qt.SortOrder.AscendingOrder)
    order = [proxy.unit_at(r).callsign for r in range(proxy.rowCount())]
    assert order == ["AA9", "AB1", "KD1", "LX2", "LX3", "LX10"]  # LX2 before LX10


def test_proxy_filters(qtmodeltester):
    model, _ = build()
    proxy = UnitsFilterProxy(model)

    def shown():
        return sorted(proxy.unit_at(r).callsign for r in range(proxy.rowCount()))

    proxy.set_search("lx")
    assert shown() == ["LX10", "LX2", "LX3"]
    proxy.set_search("dog")
    assert shown() == ["LX2"]
    proxy.set_search("")
    proxy.set_kind("irv")
    assert shown() == ["AA9", "KD1", "LX10", "LX3"]
    proxy.set_borough("Camden")
    assert shown() == ["KD1", "LX10"]
    proxy.set_statuses({UnitStatus.AVAILABLE})
    assert shown() == ["LX10"]
    proxy.set_kind(None)
    proxy.set_borough("")
    proxy.set_statuses({UnitStatus.ASSIGNED, UnitStatus.AT_SCENE})
    assert shown() == ["LX2", "LX3"]
    assert proxy.proxy_row_of(1) is None
    qtmodeltester.check(proxy)


# -- board -----------------------------------------------------------------------------------


@pytest.fixture
def board(qtbot):
    model, fake = build()
    commands = RecordingCommands()
    board = UnitsBoard(model, commands)
    qtbot.addWidget(board)
    board.resize(900, 400)
    board.show()
    board.clock = fake  # for tests that move time
    board.commands = commands
    return board


def test_board_filter_bar_drives_the_proxy(board):
    assert callsigns(board)[:2] == ["AA9", "LX10"]
    kinds = [board.kind_combo.itemText(i) for i in range(board.kind_combo.count())]
    assert kinds == ["All types", "Dog", "IRV", "Van"]
    boroughs = [board.borough_combo.itemText(i) for i in range(board.borough_combo.count())]
    assert boroughs == ["All boroughs", "Camden", "Hackney", "Islington"]
    board.set_status_filter("On incident")
    assert callsigns(board) == ["LX2", "LX3"]
    board.set_status_filter("All")
    board.kind_combo.setCurrentIndex(board.kind_combo.findText("IRV"))
    board.borough_combo.setCurrentIndex(board.borough_combo.findText("Hackney"))
    assert callsigns(board) == ["AA9"]
    assert board.count_label.text() == "1 of 6"
    board.kind_combo.setCurrentIndex(0)
    board.borough_combo.setCurrentIndex(0)
    board.search.setText("lx1")
    assert callsigns(board) == ["LX10"]


def test_board_combos_follow_the_fleet_and_keep_the_choice(board):
    board.borough_combo.setCurrentIndex(board.borough_combo.findText("Islington"))
    board.model.apply_units([make_unit(30, "BR1", borough="Barnet")], [4])
    boroughs = [board.borough_combo.itemText(i) for i in range(board.borough_combo.count())]
    assert boroughs[:4] == ["All boroughs", "Barnet", "Camden", "Hackney"]
    assert board.borough_combo.currentText() == "Islington"  # still the filter chosen
    assert callsigns(board) == []


def test_board_actions_enabled_per_status_and_call_commands(board, qtbot):
    assert not board.act_arrive.isEnabled()  # nothing selected
    assert "select a unit" in board.act_arrive.toolTip()
    assert board.select_unit(2)  # en route
    assert board.act_arrive.isEnabled() and board.act_clear.isEnabled()
    assert not board.act_available.isEnabled() and not board.act_off_duty.isEnabled()
    assert "LX2 is En route" in board.act_off_duty.toolTip()
    board.table.setFocus()
    qtbot.keyClick(
        board.table,
        Qt.Key.Key_R,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert board.commands.names() == ["arrive_unit"]
    assert board.commands.calls[0][1][0].id == 2
    assert "pending until the server confirms" in board.status_label.text()
    qtbot.keyClick(
        board.table,
        Qt.Key.Key_L,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    # still en route on this desk: clearing it asks for a reason first
    assert board.commands.names() == ["arrive_unit"]
    assert board.withdraw_box.isVisible() and board.withdraw_reason.hasFocus()
    qtbot.keyClicks(board.withdraw_reason, "Dog needed for a search in Barnet")
    qtbot.keyClick(board.withdraw_reason, Qt.Key.Key_Return)
    assert board.commands.names() == ["arrive_unit", "clear_unit"]
    assert board.commands.calls[1][1][1] == "Dog needed for a search in Barnet"

    board.select_unit(5)  # committed
    assert board.act_available.isEnabled() and board.act_off_duty.isEnabled()
    assert not board.act_committed.isEnabled() and not board.act_clear.isEnabled()
    qtbot.keyClick(
        board.table,
        Qt.Key.Key_O,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert board.commands.calls[-1] == (
        "set_unit_status",
        (board.model.unit(5), UnitStatus.OFF_DUTY),
    )
    # A key whose action does not fit the status sends nothing.
    qtbot.keyClick(
        board.table,
        Qt.Key.Key_R,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert len(board.commands.calls) == 3


def test_board_actions_follow_status_changes_from_the_feed(board):
    board.select_unit(1)
    assert board.act_committed.isEnabled()
    board.model.apply_units([make_unit(1, "LX10", status=UnitStatus.ASSIGNED, incident_id=7)], [])
    board.select_unit(1)
    assert not board.act_committed.isEnabled() and board.act_arrive.isEnabled()


def test_board_time_ticks_through_refresh_now(board):
    row = board.proxy.proxy_row_of(2)
    cell = board.proxy.index(row, UnitColumn.TIME_IN_STATUS)
    assert cell.data() == "12 min"
    board.clock.advance(minutes(3))
    board.model.refresh_now()
    assert cell.data() == "15 min"


def test_enter_and_double_click_activate_the_unit(board, qtbot):
    board.select_unit(4)
    board.table.setFocus()
    with qtbot.waitSignal(board.unit_activated) as blocker:
        qtbot.keyClick(board.table, Qt.Key.Key_Return)
    assert blocker.args == [4]
    row = board.proxy.proxy_row_of(6)
    rect = board.table.visualRect(board.proxy.index(row, 0))
    with qtbot.waitSignal(board.unit_activated) as blocker:
        qtbot.mouseClick(board.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(board.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [6]


def test_read_only_board_for_call_handlers(qtbot):
    model, _ = build()
    board = UnitsBoard(model, None)
    qtbot.addWidget(board)
    board.select_unit(2)
    actions = (
        board.act_arrive,
        board.act_clear,
        board.act_available,
        board.act_committed,
        board.act_off_duty,
    )
    assert not any(a.isEnabled() for a in actions)
    assert all(READ_ONLY_REASON in a.toolTip() for a in actions)
    assert board.status_label.text() == READ_ONLY_REASON
    assert not board.table.dragEnabled()
    board.arrive()  # called directly: still nothing, and says why
    assert board.status_label.text() == READ_ONLY_REASON
    # Still a working board: filters and activation.
    board.set_status_filter("Available")
    assert callsigns(board) == ["AA9", "LX10"]


def test_board_proxy_passes_modeltester_with_live_changes(board, qtmodeltester):
    qtmodeltester.check(board.proxy)
    board.model.apply_units([make_unit(1, "LX10", status=UnitStatus.OFF_DUTY)], [6])
    assert callsigns(board)[:1] == ["LX2"]
    assert board.proxy.index(0, 0, QModelIndex()).isValid()


def test_now_is_injected():
    stamps = iter([T0, T0 + minutes(5)])
    times: list[datetime] = []

    def now() -> datetime:
        value = next(stamps)
        times.append(value)
        return value

    model = UnitsTableModel(now)
    model.set_units([make_unit(1)])
    model.refresh_now()
    assert text(model, 1, UnitColumn.TIME_IN_STATUS) == "5 min"
    assert times == [T0, T0 + minutes(5)]
