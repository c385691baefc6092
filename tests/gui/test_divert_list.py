"""The DIVERT tag list: rows from incidents, states in words, filters, history from the server,
review (supervisors, note required), CSV export and opening the incident left."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.incident import Divert, IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.dispatch.divert_csv import CSV_HEADER
from dispatchdesk.gui.dispatch.divert_list import DivertListView
from dispatchdesk.gui.dispatch.divert_model import DivertColumn, DivertTableModel
from dispatchdesk.gui.dispatch.divert_proxy import DivertFilter
from tests.gui.factories import T0, RecordingCommands, make_incident, minutes


def divert(
    divert_id: int,
    from_id: int,
    to_id: int = 90,
    *,
    at_min: float = 0,
    callsign: str = "LX30",
    **changes: object,
) -> Divert:
    fields: dict[str, object] = dict(
        id=divert_id,
        unit_id=divert_id + 100,
        callsign=callsign,
        from_incident_id=from_id,
        from_ref=f"CAD {from_id}/23NOV26",
        to_incident_id=to_id,
        to_ref=f"CAD {to_id}/23NOV26",
        by="disp1",
        at=T0 + minutes(at_min),
        reason="Unit needed at a grade I call nearby",
    )
    fields.update(changes)
    return Divert(**fields)  # type: ignore[arg-type]


ARRIVED = dict(released_at=T0 + minutes(20), released_by="disp2", released_reason="LX31 arrived")
CLOSED = dict(
    released_at=T0 + minutes(25),
    released_by="qa1",
    released_reason="closed by supervisor qa1: caller called back, all safe",
)
REVIEWED = dict(reviewed_at=T0 + minutes(40), reviewed_by="qa1", review_note="Divert justified")


def live_incidents():
    """1 owed with no unit (escalated); 2 owed, unit en route; 3 released by an arrival;
    4 closed by a supervisor and reviewed."""
    return [
        make_incident(
            1, owed=True, escalated_at=T0 + minutes(12), diverts=(divert(11, 1, at_min=2),)
        ),
        make_incident(
            2,
            owed=True,
            status=IncidentStatus.ASSIGNED,
            diverts=(divert(21, 2, at_min=5, callsign="LX40"),),
        ),
        make_incident(
            3, status=IncidentStatus.AT_SCENE, diverts=(divert(31, 3, at_min=1, **ARRIVED),)
        ),
        make_incident(
            4,
            status=IncidentStatus.CLOSED,
            diverts=(divert(41, 4, at_min=3, **CLOSED, **REVIEWED),),
        ),
        make_incident(5),  # no diverts: no row
    ]


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """The asyncio loop on Qt's, as in the app; qtbot.waitUntil turns it."""
    event_loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.close()
    asyncio.set_event_loop(None)


def make_view(qtbot, role=Role.SUPERVISOR, **kwargs):
    commands = RecordingCommands()
    view = DivertListView(commands, role, **kwargs)
    qtbot.addWidget(view)
    view.set_incidents(live_incidents())
    view.show()
    return view, commands


def texts(model: DivertTableModel, divert_id: int) -> list[str]:
    found = model.divert(divert_id)
    assert found is not None
    return [model.cell_text(found, col) for col in DivertColumn]


def test_rows_from_incidents_with_states_in_words(qtmodeltester):
    model = DivertTableModel()
    model.set_incidents(live_incidents())
    assert sorted(d.id for d in model.diverts()) == [11, 21, 31, 41]
    assert texts(model, 11) == [
        "CAD 1/23NOV26",
        "CAD 90/23NOV26",
        "LX30",
        "disp1",
        "23/11 09:02",
        "Unit needed at a grade I call nearby",
        "OWED — no unit, escalated 09:12",
        "Not reviewed",
        "DIVERT",
    ]
    assert texts(model, 21)[6] == "OWED — unit en route"
    assert texts(model, 31)[6] == "Released 09:20: LX31 arrived"
    assert texts(model, 41)[6:] == [
        "Closed by supervisor: caller called back, all safe",
        "Reviewed by qa1 09:40: Divert justified",
        "DIVERT",
    ]
    closed = model.index(model.diverts().index(model.divert(41)), DivertColumn.STATE)
    assert model.data(closed, Qt.ItemDataRole.ToolTipRole) == (
        "Released 23/11 09:25 by qa1: closed by supervisor qa1: caller called back, all safe"
    )
    qtmodeltester.check(model)


def test_changes_update_the_state_of_the_incident_left(qtmodeltester):
    model = DivertTableModel()
    model.set_incidents(live_incidents())
    changed = []
    model.dataChanged.connect(lambda first, last, *_: changed.append((first.row(), last.row())))
    # A unit is assigned to 1; 2 gets a second divert; 2 is then dropped from the live set.
    model.apply_changes(
        [
            make_incident(
                1, owed=True, status=IncidentStatus.ASSIGNED, diverts=(divert(11, 1, at_min=2),)
            )
        ],
        [],
    )
    assert texts(model, 11)[6] == "OWED — unit en route"
    assert changed
    second = divert(22, 2, at_min=30, callsign="LX41")
    model.apply_changes(
        [make_incident(2, owed=True, diverts=(divert(21, 2, at_min=5), second))], []
    )
    assert texts(model, 22)[6] == "OWED — no unit"
    model.apply_changes([], [2])
    # The tags stay on the list (an audit trail), their incident no longer known.
    assert texts(model, 21)[6] == "OWED — incident not in the live queue"
    # An id both upserted and removed is kept, as the queue does.
    model.apply_changes([make_incident(3, diverts=(divert(31, 3, **ARRIVED, **REVIEWED),))], [3])
    assert texts(model, 31)[7] == "Reviewed by qa1 09:40: Divert justified"
    qtmodeltester.check(model)


def test_filters_and_newest_first(qtbot, qtmodeltester):
    view, _ = make_view(qtbot)
    shown = lambda: [d.id for d in view.proxy.shown()]  # noqa: E731
    # Open: not released, or released and not yet reviewed. Newest first.
    assert shown() == [21, 11, 31]
    view.set_filter(DivertFilter.NOT_REVIEWED)
    assert shown() == [21, 11, 31]
    view.set_filter(DivertFilter.ALL)  # no loader: what the desk holds, and it says so
    assert shown() == [21, 41, 11, 31]
    assert "cannot load older" in view.status.text()
    assert view.count_label.text() == "4 of 4 DIVERT tags shown"
    view.table.sortByColumn(DivertColumn.UNIT, Qt.SortOrder.AscendingOrder)
    assert [d.callsign for d in view.proxy.shown()] == ["LX30", "LX30", "LX30", "LX40"]
    # A review arriving from the server takes the tag off the "Not reviewed" list.
    view.set_filter(DivertFilter.NOT_REVIEWED)
    view.apply_changes(
        [
            make_incident(
                3, status=IncidentStatus.AT_SCENE, diverts=(divert(31, 3, **ARRIVED, **REVIEWED),)
            )
        ],
        [],
    )
    assert sorted(shown()) == [11, 21]
    qtmodeltester.check(view.proxy)


def test_history_merges_by_id_and_loads_once(qtbot, loop):
    calls = []
    answer = asyncio.Event()  # the server answers when the test says so

    async def load_history() -> list[Divert]:
        calls.append(1)
        await answer.wait()
        return [
            divert(5, 70, at_min=-600, **ARRIVED, **REVIEWED),  # an old, closed incident
            divert(11, 1, at_min=2, **REVIEWED),  # a live tag, reviewed since
            divert(31, 3, at_min=1),
        ]  # an older version of a live tag: not taken

    view, _ = make_view(qtbot, load_history=load_history)
    view.set_filter(DivertFilter.ALL)
    assert view.status.text() == "Loading history…" and view.history_loading
    answer.set()
    qtbot.waitUntil(lambda: view.status.text().startswith("History loaded"))
    assert view.status.text() == "History loaded: 3 DIVERT tags from the server."
    assert [d.id for d in view.proxy.shown()] == [21, 41, 11, 31, 5]
    assert texts(view.model, 11)[7] == "Reviewed by qa1 09:40: Divert justified"
    assert texts(view.model, 31)[6] == "Released 09:20: LX31 arrived"
    view.set_filter(DivertFilter.OPEN)
    view.set_filter(DivertFilter.ALL)
    assert calls == [1]  # loaded once
    assert not view.history_loading


def test_failing_history_is_shown_and_can_be_retried(qtbot, loop):
    outcomes: list[object] = [ConnectionError("server unreachable"), [divert(5, 70)]]

    async def load_history() -> list[Divert]:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[return-value]

    view, _ = make_view(qtbot, load_history=load_history)
    view.set_filter(DivertFilter.ALL)
    qtbot.waitUntil(lambda: not view.history_loading)
    assert view.status.text().startswith("Could not load the DIVERT history (server unreachable).")
    assert view.status.property("role") == "error"
    assert view.proxy.rowCount() == 4  # what the desk holds stays shown
    view.set_filter(DivertFilter.ALL)  # chosen again: tried again
    qtbot.waitUntil(lambda: view.status.text().startswith("History loaded"))
    assert view.model.divert(5) is not None


def test_supervisor_reviews_by_keyboard_with_a_required_note(qtbot):
    view, commands = make_view(qtbot)
    view.activateWindow()
    view.focus_table()
    qtbot.waitUntil(view.table.hasFocus)
    assert view.select_divert(11)
    assert view.review_button.isEnabled()
    qtbot.keyClick(view.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert view.review_box.isVisible() and view.note.hasFocus()
    assert "LX30 diverted from CAD 1/23NOV26 to CAD 90/23NOV26" in view.review_title.text()
    qtbot.keyClicks(view.note, "   ")
    qtbot.keyClick(view.note, Qt.Key.Key_Return)
    assert commands.calls == []
    assert "note is required" in view.review_error.text()
    qtbot.keyClicks(view.note, "Checked: LX31 sent within 5 min")
    qtbot.keyClick(view.note, Qt.Key.Key_Return)
    sent = view.model.divert(11)
    assert commands.calls == [("review_divert", (sent, "Checked: LX31 sent within 5 min"))]
    assert not view.review_box.isVisible()
    assert "sent" in view.status.text()


def test_escape_cancels_a_review(qtbot):
    view, commands = make_view(qtbot)
    view.select_divert(21)
    view.start_review()
    qtbot.waitUntil(view.note.hasFocus)
    qtbot.keyClicks(view.note, "half a note")
    qtbot.keyClick(view.note, Qt.Key.Key_Escape)
    assert not view.review_box.isVisible() and commands.calls == []


def test_review_refused_to_dispatchers_and_for_reviewed_tags(qtbot):
    view, commands = make_view(qtbot, role=Role.DISPATCHER)
    view.select_divert(11)
    assert not view.review_button.isEnabled()
    assert "Only supervisors review DIVERT tags" in view.review_button.toolTip()
    view.start_review()  # Ctrl+R: says why, opens nothing
    assert not view.review_box.isVisible() and commands.calls == []
    assert "Only supervisors" in view.status.text()
    supervisor, _ = make_view(qtbot)
    supervisor.set_filter(DivertFilter.ALL)
    supervisor.select_divert(41)
    assert not supervisor.review_button.isEnabled()
    assert supervisor.review_button.toolTip() == "Already reviewed by qa1 at 09:40."


def test_export_csv_writes_the_rows_shown(qtbot, tmp_path):
    target = tmp_path / "tags.csv"
    view, _ = make_view(qtbot, choose_path=lambda done: done(str(target)))
    view.apply_changes(
        [
            make_incident(
                6, owed=True, diverts=(divert(61, 6, at_min=-5, reason='=HYPERLINK("http://x")'),)
            )
        ],
        [],
    )
    view.set_filter(DivertFilter.NOT_REVIEWED)
    view.export_button.click()
    with target.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(CSV_HEADER)
    assert [r[0] for r in rows[1:]] == ["21", "11", "31", "61"]  # as shown, newest first
    by_id = {r[0]: dict(zip(CSV_HEADER, r, strict=True)) for r in rows[1:]}
    assert by_id["11"]["Diverted at"] == "2026-11-23T09:02:00+00:00"
    assert by_id["11"]["Incident left"] == "OWED — no unit, escalated 09:12"
    assert by_id["31"]["Released at"] == "2026-11-23T09:20:00+00:00"
    assert by_id["31"]["Release reason"] == "LX31 arrived"
    assert by_id["61"]["Reason"] == '\'=HYPERLINK("http://x")'  # never run as a formula
    assert view.status.text() == f"Exported 4 DIVERT tags to {target}."


def test_export_error_is_shown_not_raised(qtbot, tmp_path):
    view, _ = make_view(qtbot, choose_path=lambda done: done(str(tmp_path)))  # a folder
    view.export_csv()
    assert view.status.text().startswith(f"Could not export to {tmp_path}")
    cancelled, _ = make_view(qtbot, choose_path=lambda done: None)  # the operator cancelled
    cancelled.export_csv()
    assert cancelled.status.text() == ""


def test_default_path_chooser_is_a_non_modal_dialog(qtbot):
    view, _ = make_view(qtbot)
    view.export_csv()
    dialog = view.file_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.windowModality() != Qt.WindowModality.ApplicationModal
    dialog.reject()
    assert view.file_dialog is None


def test_open_incident_from_enter_and_button(qtbot):
    view, _ = make_view(qtbot)
    view.activateWindow()
    view.focus_table()
    qtbot.waitUntil(view.table.hasFocus)
    view.select_divert(21)
    with qtbot.waitSignal(view.open_incident) as blocker:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert blocker.args == [2]
    view.select_divert(11)
    with qtbot.waitSignal(view.open_incident) as blocker:
        view.open_button.click()
    assert blocker.args == [1]


def test_a_refused_review_note_opens_the_review_again_with_it(qtbot):
    from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand

    view, commands = make_view(qtbot)
    assert view.select_divert(11)
    view.start_review()
    note = "Checked: LX31 sent within 5 min"
    view.note.setText(note)
    view.submit_review()
    assert view.review_box.isHidden() and len(view.refusals) == 1
    refused = PendingCommand(
        id="cmd-1",
        kind=CommandKind.REVIEW_DIVERT,
        incident_id=None,
        description="Review",
        created_at=T0,
        state=CommandState.FAILED,
        message="The review note is almost the same as the review note of the divert of LX30 "
        "from CAD 9/20NOV26 on 20 Nov 2026 (identical).",
    )
    view.refusals.follow([refused])
    assert view.review_box.isVisible() and view.note.text() == note
    assert view.review_error.text().startswith("Refused by the server: The review note is")
    assert "LX30 diverted from CAD 1/23NOV26" in view.review_title.text()
    view.note.setText("Checked the log: LX31 went at 09:05, the divert was needed")
    view.submit_review()
    assert [name for name, _ in commands.calls] == ["review_divert", "review_divert"]
