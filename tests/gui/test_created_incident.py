"""Issue 15 item 4: after Create, the new incident's ref is shown (pending until the server
confirms), put on the clipboard, and its row selected and shown even when a filter hid it; a
word typed in the grade box is refused, not read by its first letter."""

from __future__ import annotations

from datetime import datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.forms import GradeTyping
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import Caller, Location
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.incident.new_incident import NewIncidentDialog
from dispatchdesk.sync.api import IncidentDraft
from tests.gui.factories import T0, make_incident, minutes, open_queue_window

DRAFT = IncidentDraft(
    grade=Grade.IMMEDIATE,
    type="Domestic",
    summary="Shouting",
    location=Location(address="5 New Road", postcode="E1 1AA", borough="Tower Hamlets"),
    caller=Caller(name="Ann"),
)


def create_command(command_id, state=CommandState.QUEUED, incident_id=None, message=None):
    return PendingCommand(
        command_id,
        CommandKind.CREATE_INCIDENT,
        incident_id,
        "New I incident: Domestic, 5 New Road, E1 1AA",
        datetime(2026, 11, 23, 9, 0),
        state,
        message,
    )


@pytest.fixture
def window(qtbot, commands, settings, fake_clock):
    win = open_queue_window(qtbot, commands, settings, fake_clock, Role.SUPERVISOR)
    win.relay.on_state(
        [make_incident(i, created_at=T0 + minutes(i)) for i in range(1, 4)], DEFAULT_POLICY
    )
    return win


def submit(window):
    window.incidents.new_incident()
    window.incidents.new_incident_dialog.submitted.emit(DRAFT)
    calls = window._commands.calls
    assert calls[-1][0] == "create_incident"
    return f"cmd-{len(calls)}"  # RecordingCommands numbers its commands from 1


def test_offline_create_is_pending_then_shows_its_ref(qtbot, window):
    QApplication.clipboard().setText("before")
    window.search.setText("CAD 2/")  # a filter the new incident does not match
    window.selection_keeper.select_incident(2)
    command_id = submit(window)
    note = window.created_note
    assert note.isVisible()
    assert "Pending — the ref comes when the server confirms" in note.text()
    assert "5 New Road" in note.text()
    window.relay.on_commands([create_command(command_id)])  # offline: queued, no ref
    assert "Pending" in note.text()
    assert QApplication.clipboard().text() == "before"
    # Back online: sent, the server's reply and the feed bring incident 99 and its ref.
    window.relay.on_commands([create_command(command_id, CommandState.SENT, 99)])
    new = make_incident(99, created_at=T0 + minutes(30), address="5 New Road")
    window.relay.on_changes([new], [])
    window.relay.on_commands([])
    assert note.text().startswith("✔ Created CAD 99/23NOV26 — read it back to the caller")
    assert "The filters were cleared to show it." in note.text()
    assert QApplication.clipboard().text() == "CAD 99/23NOV26"
    assert window.search.text() == ""
    assert window.selection_keeper.selected_incident().id == 99
    assert window.detail.incident.id == 99
    row = window.proxy.proxy_row_of(99)
    assert window.table.visualRect(window.proxy.index(row, 0)).intersects(
        window.table.viewport().rect()
    )


def test_reply_before_the_command_update_and_no_filter(qtbot, window):
    command_id = submit(window)
    window.relay.on_commands([create_command(command_id)])
    window.relay.on_changes([make_incident(50, created_at=T0 + minutes(9))], [])
    assert "Pending" in window.created_note.text()  # not yet linked to the command
    window.relay.on_commands([create_command(command_id, CommandState.SENT, 50)])
    assert "Created CAD 50/23NOV26" in window.created_note.text()
    assert "filters" not in window.created_note.text()
    assert window.selection_keeper.selected_incident().id == 50


def test_operator_who_moved_on_keeps_the_selection_and_can_show_it(qtbot, window):
    window.selection_keeper.select_incident(1)
    command_id = submit(window)
    window.relay.on_commands([create_command(command_id)])
    window.selection_keeper.select_incident(3)  # working on another incident meanwhile
    window.grade_buttons[Grade.IMMEDIATE].click()  # hides every I incident, the new one too
    window.relay.on_commands([create_command(command_id, CommandState.SENT, 77)])
    window.relay.on_changes([make_incident(77, created_at=T0 + minutes(8))], [])
    note = window.created_note
    assert "Created CAD 77/23NOV26" in note.text()
    assert window.selection_keeper.selected_id() == 3
    assert note.show_button.isVisible()
    qtbot.mouseClick(note.show_button, Qt.MouseButton.LeftButton)
    assert window.selection_keeper.selected_incident().id == 77
    assert "The filters were cleared to show it." in note.text()


def test_refused_or_discarded_create_says_so(qtbot, window):
    command_id = submit(window)
    window.relay.on_commands([create_command(command_id)])
    window.relay.on_commands(
        [create_command(command_id, CommandState.FAILED, message="Unknown borough.")]
    )
    assert "Not created yet" in window.created_note.text()
    assert "Unknown borough." in window.created_note.text()
    window.relay.on_commands([])  # discarded from the unsent commands
    assert "discarded" in window.created_note.text()


def test_grade_typing_refuses_words():
    typing = GradeTyping(gap=0.5)
    assert typing.key("i", 10.0) == (Grade.IMMEDIATE, None)
    grade, problem = typing.key("m", 10.1)
    assert grade is None and problem.startswith("“im…” is not a grade")
    assert typing.key("E", 10.2)[0] is None  # still the word: not EXTENDED
    assert typing.key("S", 11.0) == (Grade.SIGNIFICANT, None)  # after a pause: a letter
    assert typing.key("x", 12.0)[1] == "“x” is not a grade. Press one letter: I, S, E or R."
    typing.pause()
    assert typing.key("R", 12.1) == (Grade.REFERRED, None)


def test_a_word_typed_in_the_grade_box_is_refused(qtbot):
    dialog = NewIncidentDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    seconds = [100.0]
    dialog.grade_keys.clock = lambda: seconds[0]
    dialog.grade.setFocus()
    for letter in "immediate":  # typed at 50 ms a key
        qtbot.keyClicks(dialog.grade, letter)
        seconds[0] += 0.05
    assert dialog.selected_grade() is None
    error = dialog.all_fields()["grade"].error
    assert error.isVisible() and "“immediate…” is not a grade" in error.text()
    seconds[0] += 2
    qtbot.keyClick(dialog.grade, Qt.Key.Key_S)
    assert dialog.selected_grade() is Grade.SIGNIFICANT
    assert not error.isVisible()
    seconds[0] += 2
    qtbot.keyClicks(dialog.grade, "x")
    assert dialog.selected_grade() is None and "“x” is not a grade" in error.text()
