"""A half-typed incident survives a crash, and Ctrl+Q asks before leaving things behind.

The form's draft goes to the desk's commands (the engine writes it on the cache's thread) once
typing pauses; a draft kept from before a restart is offered above the queue, non-modal, to
open or discard; Ctrl+Q or closing the window with unsent commands or a form with content
asks first, non-modal, saying how many commands are unsent and that they are sent at the next
start.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.drafts import NEW_INCIDENT_FORM, FormDraft
from dispatchdesk.domain.forms import IncidentFormValues
from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.incident.form_draft import DraftSaver
from dispatchdesk.gui.queue.quit_guard import quit_question
from tests.gui.factories import T0, RecordingCommands, open_queue_window

KEPT = FormDraft(
    values=IncidentFormValues(
        address="14 Mare Street",
        postcode="E8 4RP",
        borough="Hackney",
        type="Domestic",
        summary="Woman screaming next door",
        caller_name="Ann Smith",
        caller_phone="07700 900123",
        grade=Grade.IMMEDIATE,
        persons=(("Gary Hollis", "09/03/1984"), ("Jo Hollis", "")),
    ),
    anonymous=True,
    saved_at=T0 - timedelta(minutes=3),
)


@pytest.fixture
def window(qtbot, commands: RecordingCommands, settings: QSettings, fake_clock: FakeClock):
    return open_queue_window(qtbot, commands, settings, fake_clock, Role.CALL_HANDLER)


def command(n: int, state: CommandState) -> PendingCommand:
    return PendingCommand(
        id=f"c{n}",
        kind=CommandKind.CREATE_INCIDENT,
        incident_id=None,
        description=f"New I incident {n}",
        created_at=T0,
        state=state,
    )


def saved(commands: RecordingCommands) -> list[FormDraft | None]:
    assert all(form == NEW_INCIDENT_FORM for form, _ in commands.drafts)
    return [d for _, d in commands.drafts]


def test_the_form_is_saved_as_typed_once_typing_pauses_persons_included(
    qtbot, window, commands: RecordingCommands
) -> None:
    window.incidents.new_incident()
    dialog = window.incidents.new_incident_dialog
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.address)
    qtbot.keyClicks(dialog.address, "14 Mare Street")  # fourteen keys: one save
    qtbot.waitUntil(lambda: len(commands.drafts) == 1)
    assert saved(commands)[0].values.address == "14 Mare Street"
    dialog.add_person()
    qtbot.keyClicks(QApplication.focusWidget(), "Gary Hollis")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    qtbot.keyClicks(QApplication.focusWidget(), "09/03/1984")
    dialog.anonymous.setChecked(True)
    qtbot.waitUntil(lambda: len(commands.drafts) == 2)
    last = saved(commands)[-1]
    assert last is not None and last.anonymous
    assert last.values.persons == (("Gary Hollis", "09/03/1984"),)
    assert commands.names() == [], "no command: a draft is not an incident"


def test_discarding_the_form_drops_the_draft_and_create_leaves_it_to_the_engine(
    qtbot, window, commands: RecordingCommands
) -> None:
    window.incidents.new_incident()
    dialog = window.incidents.new_incident_dialog
    qtbot.keyClicks(dialog.address, "1 Mill Lane")
    qtbot.waitUntil(lambda: len(commands.drafts) == 1)
    qtbot.keyClick(dialog.address, Qt.Key.Key_Escape)
    assert dialog.isVisible() and not saved(commands)[1:], "the first Esc only asks"
    qtbot.keyClick(dialog.address, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert saved(commands)[-1] is None

    commands.drafts.clear()
    window.incidents.new_incident()
    dialog = window.incidents.new_incident_dialog
    for edit, text in ((dialog.address, "14 Mare Street"), (dialog.postcode, "E8 4RP")):
        qtbot.keyClicks(edit, text)
    dialog.borough.setEditText("Hackney")
    dialog.type.setEditText("Domestic")
    dialog.set_grade(Grade.IMMEDIATE)
    dialog.summary.setPlainText("Woman screaming next door")
    dialog.submit()
    assert commands.names() == ["create_incident"]
    qtbot.wait(DraftSaver.PAUSE_MS + 100)
    assert None not in saved(commands), "the engine drops it with the create, atomically"


def test_a_kept_draft_is_offered_non_modally_and_opens_with_every_field(
    qtbot, window, commands: RecordingCommands
) -> None:
    window.incidents.offer_draft(KEPT)
    note = window.incidents.draft_note
    assert note.isVisible() and not QApplication.activeModalWidget()
    assert "was being typed when the desk last stopped" in note.text()
    assert "Domestic at 14 Mare Street (2 people named)" in note.text()
    assert "It was not created" in note.text() and "discard" in note.text()
    qtbot.mouseClick(note.open_button, Qt.MouseButton.LeftButton)
    dialog = window.incidents.new_incident_dialog
    assert dialog is not None and dialog.isVisible() and not note.isVisible()
    assert dialog.values() == KEPT.values
    assert dialog.anonymous.isChecked()
    assert [row.texts() for row in dialog.person_rows] == list(KEPT.values.persons)
    assert window.incidents.kept_draft is None, "offered once"


def test_ctrl_n_carries_on_with_a_kept_draft_and_discard_drops_it(
    qtbot, window, commands: RecordingCommands
) -> None:
    window.incidents.offer_draft(KEPT)
    qtbot.keyClick(window.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = window.incidents.new_incident_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible())
    assert dialog.values().summary == "Woman screaming next door"
    dialog.done(0)
    window.incidents.offer_draft(KEPT)
    qtbot.mouseClick(window.incidents.draft_note.discard_button, Qt.MouseButton.LeftButton)
    assert not window.incidents.draft_note.isVisible() and saved(commands)[-1] is None


def test_the_quit_question_counts_unsent_commands_and_says_when_they_go() -> None:
    assert quit_question([command(1, CommandState.SENT)], False) is None
    one = quit_question([command(1, CommandState.QUEUED)], False)
    assert one == (
        "1 command is not sent yet. It is kept on this computer and sent when the desk next "
        "starts and you have signed in."
    )
    many = quit_question(
        [command(n, CommandState.QUEUED) for n in range(3)]
        + [command(9, CommandState.HELD), command(8, CommandState.FAILED)],
        True,
    )
    assert many is not None
    assert many.startswith("3 commands are not sent yet. They are kept")
    assert "2 commands were refused or held and wait for your decision" in many
    assert "The new incident you are typing has not been created" in many


def test_ctrl_q_with_unsent_commands_asks_first_non_modal(qtbot, window) -> None:
    window.relay.on_commands([command(n, CommandState.QUEUED) for n in range(3)])
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    qtbot.keyClick(window.table, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    box = window.quit_guard.box
    assert box is not None and box.isVisible() and not box.isModal()
    assert window.isVisible() and not closed
    assert "3 commands are not sent yet" in box.informativeText()
    assert "sent when the desk next starts" in box.informativeText()
    assert box.defaultButton() is window.quit_guard.keep_button
    qtbot.mouseClick(window.quit_guard.keep_button, Qt.MouseButton.LeftButton)
    assert window.isVisible() and not closed, "Keep working keeps everything"
    window.close()  # the window's close button: the same question
    assert box.isVisible()
    qtbot.mouseClick(window.quit_guard.quit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert closed == [True]


def test_ctrl_q_with_nothing_left_behind_quits_at_once_and_with_a_form_keeps_it(
    qtbot, window, commands: RecordingCommands
) -> None:
    window.relay.on_commands([command(1, CommandState.SENT)])  # the server has it
    window.incidents.new_incident()
    dialog = window.incidents.new_incident_dialog
    qtbot.keyClicks(dialog.summary, "Caller hears")
    window.close()
    box = window.quit_guard.box
    assert box is not None and box.isVisible() and window.isVisible()
    assert "not sent" not in box.informativeText()
    assert "kept and offered again" in box.informativeText()
    commands.drafts.clear()
    qtbot.mouseClick(window.quit_guard.quit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert saved(commands)[0] is not None, "saved at once, not after the pause"
    assert saved(commands)[0].values.summary == "Caller hears"


def test_an_empty_form_and_no_commands_quit_without_a_question(qtbot, window) -> None:
    window.incidents.new_incident()
    window.close()
    assert window.quit_guard.box is None and not window.isVisible()


def test_a_window_rebuilt_for_another_role_carries_the_form_or_the_offer(
    qtbot, window, commands: RecordingCommands
) -> None:
    """The desk rebuilds the window when the signed-in role changes: what it carries over."""
    assert window.incidents.draft_to_carry() is None
    window.incidents.new_incident()
    qtbot.keyClicks(window.incidents.new_incident_dialog.address, "1 Mill Lane")
    carried = window.incidents.draft_to_carry()
    assert carried is not None and carried.values.address == "1 Mill Lane"
    window.incidents.new_incident_dialog.done(1)
    window.incidents.offer_draft(KEPT)
    assert window.incidents.draft_to_carry() == KEPT
