"""The tasks for the attending officers in the incident panel (one key per action), the close
refused while one is open, the supervisor's override, the anonymity line, and the queue's
"tasks overdue" flag appearing on the tick when the policy's time has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.incident import Caller, IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.tasks import Task, TaskKind, TaskState
from dispatchdesk.gui.incident.detail_panel import IncidentDetailPanel
from dispatchdesk.gui.incident.tasks_panel import TasksModel
from dispatchdesk.gui.queue.model import Column, IncidentTableModel
from tests.gui.factories import T0, make_incident

RATIONALE = "Spoke to both parties; the ex-partner left before police arrived, victim safe"


def tasks(*states: TaskState) -> tuple[Task, ...]:
    kinds = [TaskKind.CONTACT_INFORMANT, TaskKind.HOUSE_TO_HOUSE, TaskKind.HISTORY_CHECK]
    out = []
    for n, (kind, state) in enumerate(zip(kinds, states, strict=False), start=1):
        detail = "Anon, 07700 900123" if kind is TaskKind.CONTACT_INFORMANT else ""
        if state is TaskState.OPEN:
            out.append(Task(n, kind, state, detail))
        else:
            said = {"outcome": "Rang back, heard a row at 22:00"}
            if state is TaskState.NOT_DONE:
                said = {"reason": "Flats empty at 02:00, day shift to call"}
            out.append(Task(n, kind, state, detail, by="dan", at=T0, **said))
    return tuple(out)


def panel_for(qtbot, commands, fake_clock, role=Role.DISPATCHER):
    panel = IncidentDetailPanel(commands, role, fake_clock.now)
    qtbot.addWidget(panel)
    panel.resize(420, 900)
    with qtbot.waitActive(panel):
        panel.show()
        panel.activateWindow()
    return panel


def test_tasks_model_passes_the_model_tester(qtmodeltester):
    model = TasksModel()
    model.set_tasks(tasks(TaskState.DONE, TaskState.NOT_DONE, TaskState.OPEN), "Europe/London")
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    assert model.index(0, 0).data() == (
        "Contact the informant (Anon, 07700 900123)\n"
        "done by dan at 09:00: Rang back, heard a row at 22:00"
    )
    assert model.index(1, 1).data() == "not done"
    assert model.index(2, 0).data() == "History check"
    assert model.index(2, 1).data() == "open"


def test_the_panel_lists_the_tasks_and_hides_the_box_without_any(qtbot, commands, fake_clock):
    panel = panel_for(qtbot, commands, fake_clock)
    panel.show_incident(make_incident(1, tasks=tasks(TaskState.DONE, TaskState.OPEN)))
    box = panel.tasks_box
    assert box.isVisible() and box.model.rowCount() == 2
    assert box.selected_task().kind is TaskKind.HOUSE_TO_HOUSE  # the first open one
    panel.show_incident(make_incident(2))
    assert not box.isVisible()


def test_one_key_records_done_and_another_not_done(qtbot, commands, fake_clock):
    panel = panel_for(qtbot, commands, fake_clock)
    incident = make_incident(1, tasks=tasks(TaskState.OPEN, TaskState.OPEN))
    panel.show_incident(incident)
    box = panel.tasks_box
    box.select_task(1)
    box.text.setFocus()
    qtbot.keyClicks(box.text, "Rang 07700 900123, neighbour heard shouting")
    qtbot.keyClick(box.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert commands.calls == [
        ("task_done", (incident, incident.tasks[0], "Rang 07700 900123, neighbour heard shouting"))
    ]
    assert "pending" in box.message.text()
    # once the feed brings it recorded, the next open task is selected
    recorded = incident.with_changes(tasks=tasks(TaskState.DONE, TaskState.OPEN), version=2)
    panel.update_incident(recorded)
    assert box.selected_task().id == 2
    incident = recorded
    # not done: the reason is checked like a rationale first
    box.select_task(2)
    box.text.clear()
    qtbot.keyClicks(box.text, "nfa")
    keys = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(box.text, Qt.Key.Key_Return, keys)
    assert len(commands.calls) == 1
    assert "too short" in box.message.text()
    assert QApplication.focusWidget() is box.text
    box.text.setText("Flats 1-4 empty at 02:00, day shift to knock")
    qtbot.keyClick(box.text, Qt.Key.Key_Return, keys)
    assert commands.calls[1] == (
        "task_not_done",
        (recorded, recorded.tasks[1], "Flats 1-4 empty at 02:00, day shift to knock"),
    )


def test_done_needs_what_was_found_and_the_servers_refusal_shows(qtbot, commands, fake_clock):
    panel = panel_for(qtbot, commands, fake_clock)
    incident = make_incident(1, tasks=tasks(TaskState.OPEN, TaskState.OPEN, TaskState.OPEN))
    panel.show_incident(incident)
    box = panel.tasks_box
    box.select_task(3)
    box.done_button.click()
    assert commands.calls == [] and "Say what was found" in box.message.text()
    box.text.setText("Two earlier calls at the address, both verbal rows")
    box.done_button.click()
    refused = PendingCommand(
        id="cmd-1",
        kind=CommandKind.TASK_DONE,
        incident_id=1,
        description="History check done",
        created_at=T0,
        state=CommandState.FAILED,
        message="Nobody has opened the history of CAD 1/23NOV26 yet: open it, then record.",
    )
    panel.set_commands([refused])
    assert "Nobody has opened the history" in box.message.text()
    assert box.text.text() == "Two earlier calls at the address, both verbal rows"  # kept


def test_a_call_handler_sees_the_tasks_but_does_not_record_them(qtbot, commands, fake_clock):
    panel = panel_for(qtbot, commands, fake_clock, role=Role.CALL_HANDLER)
    panel.show_incident(make_incident(1, tasks=tasks(TaskState.OPEN)))
    assert panel.tasks_box.isVisible() and panel.tasks_box.entry.isHidden()
    panel.tasks_box.record(done=True)
    assert commands.calls == []


def test_close_is_refused_naming_each_open_task(qtbot, commands, fake_clock):
    panel = panel_for(qtbot, commands, fake_clock)
    panel.show_incident(
        make_incident(1, tasks=tasks(TaskState.DONE, TaskState.OPEN, TaskState.OPEN))
    )
    assert panel.close_override.isHidden()  # a dispatcher cannot override
    panel.rationale.setPlainText(RATIONALE)
    panel.close_button.click()
    assert commands.calls == []
    said = panel.close_message.text()
    assert "2 tasks for the attending officers still open" in said
    assert "House-to-house enquiries" in said and "History check" in said
    assert "Contact the informant" not in said
    assert panel.rationale.toPlainText() == RATIONALE


def test_a_supervisor_closes_with_tasks_open_only_by_saying_so(qtbot, commands, fake_clock):
    panel = panel_for(qtbot, commands, fake_clock, role=Role.SUPERVISOR)
    incident = make_incident(1, tasks=tasks(TaskState.OPEN))
    panel.show_incident(incident)
    assert panel.close_override.isVisible() and not panel.close_override.isChecked()
    panel.rationale.setPlainText(RATIONALE)
    panel.close_button.click()
    assert commands.calls == [] and "still open" in panel.close_message.text()
    panel.close_override.setChecked(True)
    panel.close_button.click()
    assert commands.calls == [("close", (incident, RATIONALE, "override_open_tasks"))]
    # all recorded: no override offered, a plain close
    panel.show_incident(make_incident(2, tasks=tasks(TaskState.DONE)))
    assert panel.close_override.isHidden()
    # the tick never follows the operator to another incident with tasks open
    panel.close_override.setChecked(True)
    panel.show_incident(make_incident(3, tasks=tasks(TaskState.OPEN)))
    assert panel.close_override.isVisible() and not panel.close_override.isChecked()


def test_anonymity_says_at_whose_request_and_who_recorded_it(qtbot, commands, fake_clock):
    panel = panel_for(qtbot, commands, fake_clock)
    caller = Caller(
        phone="07700 900123",
        anonymous=True,
        anonymity_requested=True,
        anonymity_recorded_by="cathy",
        anonymity_recorded_at=T0.replace(hour=14, minute=2),
    )
    panel.show_incident(make_incident(1, caller=caller))
    assert (
        panel.fields["Caller"]
        .text()
        .startswith(
            "Anon · 07700 900123 · Anonymous at the caller's request (recorded by cathy at 14:02)"
        )
    )


def test_overdue_tasks_show_in_the_panel_on_the_tick(qtbot, commands, fake_clock):
    panel = panel_for(qtbot, commands, fake_clock)
    panel.show_incident(make_incident(1, tasks=tasks(TaskState.OPEN, TaskState.DONE)))
    assert panel.tasks_box.overdue.isHidden()
    fake_clock.advance(timedelta(hours=24))
    panel.refresh()
    assert panel.tasks_box.overdue.isVisible()
    assert "1 task still open more than 24 h after the call" in panel.tasks_box.overdue.text()


@pytest.mark.parametrize("state", [TaskState.DONE, TaskState.NOT_DONE])
def test_queue_flags_overdue_tasks_when_their_time_comes(qtmodeltester, fake_clock, state):
    model = IncidentTableModel(fake_clock.now)
    late = make_incident(1, tasks=tasks(TaskState.OPEN))
    settled = make_incident(2, tasks=tasks(state))
    closed = make_incident(3, tasks=tasks(TaskState.OPEN), status=IncidentStatus.CLOSED)
    model.set_incidents([late, settled, closed], DEFAULT_POLICY)
    qtmodeltester.check(model)
    flags = {i: model.index(model.row_of(i), Column.FLAGS) for i in (1, 2, 3)}
    fake_clock.advance(timedelta(hours=23, minutes=59))
    model.refresh_now()
    assert "TASKS OVERDUE" not in flags[1].data()
    seen: list[int] = []
    model.dataChanged.connect(lambda tl, br, _roles: seen.extend(range(tl.row(), br.row() + 1)))
    fake_clock.advance(timedelta(minutes=1))
    model.refresh_now()  # the tick: the flags cell of the late incident repaints
    assert seen == [model.row_of(1)]
    assert "TASKS OVERDUE" in flags[1].data()
    assert "House" not in (flags[1].data(Qt.ItemDataRole.ToolTipRole) or "")
    assert "Contact the informant (Anon, 07700 900123)" in flags[1].data(
        Qt.ItemDataRole.ToolTipRole
    )
    assert "TASKS OVERDUE" not in flags[2].data() and "TASKS OVERDUE" not in flags[3].data()
    seen.clear()
    fake_clock.advance(timedelta(seconds=1))
    model.refresh_now()
    assert seen == []  # once
