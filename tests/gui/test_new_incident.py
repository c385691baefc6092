"""NewIncidentDialog: keyboard-only entry, validation that keeps text, Esc confirmation."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Caller, Location
from dispatchdesk.gui.new_incident import ANONYMITY_LABEL, NewIncidentDialog, normalise_postcode
from dispatchdesk.sync.api import IncidentDraft


@pytest.fixture
def dialog(qtbot):
    dlg = NewIncidentDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.activateWindow()
    qtbot.waitExposed(dlg)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dlg.address)
    return dlg


def type_text(qtbot, text):
    qtbot.keyClicks(QApplication.focusWidget(), text)


def tab(qtbot):
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)


def test_keyboard_only_entry_produces_draft(qtbot, dialog):
    for text in ("12 High Street", "nw17aa", "100023", "", "Camden", "Domestic"):
        type_text(qtbot, text)
        tab(qtbot)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_S)  # grade field: S
    tab(qtbot)
    assert QApplication.focusWidget() is dialog.summary
    type_text(qtbot, "Shouting and banging next door")
    tab(qtbot)
    type_text(qtbot, "Ann Smith")
    tab(qtbot)
    type_text(qtbot, "07700 900123")
    with qtbot.waitSignal(dialog.submitted) as blocker:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)
    assert blocker.args[0] == IncidentDraft(
        grade=Grade.SIGNIFICANT,
        type="Domestic",
        summary="Shouting and banging next door",
        location=Location(address="12 High Street", postcode="NW1 7AA", borough="Camden",
                          uprn="100023"),
        caller=Caller(name="Ann Smith", phone="07700 900123", anonymous=False),
    )
    assert not dialog.isVisible()


def test_grade_keys_and_extended_shows_appointment(qtbot, dialog):
    dialog.grade.setFocus()
    qtbot.keyClick(dialog.grade, Qt.Key.Key_E)
    assert dialog.selected_grade() is Grade.EXTENDED
    assert dialog._appointment_row.isVisible()
    qtbot.keyClick(dialog.grade, Qt.Key.Key_I)
    assert dialog.selected_grade() is Grade.IMMEDIATE
    assert not dialog._appointment_row.isVisible()


def test_invalid_postcode_shows_message_and_keeps_text(qtbot, dialog):
    qtbot.keyClicks(dialog.address, "1 Acacia Avenue")
    qtbot.keyClicks(dialog.postcode, "XYZ 123")
    qtbot.keyClicks(dialog.uprn, "12a")
    qtbot.keyClicks(dialog.summary, "Car alarm")
    with qtbot.assertNotEmitted(dialog.submitted):
        dialog.submit()
    errors = dialog.errors()
    assert "UK postcode" in errors["postcode"]
    assert "digits" in errors["uprn"]
    assert errors["grade"].startswith("Choose a grade")
    assert errors["borough"] == "Required."
    field = dialog._fields["postcode"]
    assert not field.error.isHidden() and "UK postcode" in field.error.text()
    assert dialog.postcode.text() == "XYZ 123"
    assert dialog.address.text() == "1 Acacia Avenue"
    assert dialog.summary.toPlainText() == "Car alarm"
    assert dialog.isVisible()
    assert QApplication.focusWidget() is dialog.postcode


def test_anonymity_never_preticked(dialog):
    assert not dialog.anonymous.isChecked()
    assert dialog.anonymous.text() == ANONYMITY_LABEL
    assert "only if the caller asks" in ANONYMITY_LABEL


def test_escape_asks_before_discarding_text(qtbot, dialog):
    qtbot.keyClicks(dialog.address, "3 Mill Lane")
    qtbot.keyClick(dialog.address, Qt.Key.Key_Escape)
    assert dialog.isVisible() and not dialog.confirm_label.isHidden()
    assert dialog.address.text() == "3 Mill Lane"
    qtbot.keyClick(dialog.address, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_escape_closes_empty_form_at_once(qtbot, dialog):
    qtbot.keyClick(dialog.address, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_extended_with_appointment(qtbot, dialog):
    qtbot.keyClicks(dialog.address, "3 Mill Lane")
    qtbot.keyClicks(dialog.postcode, "E8 1AB")
    dialog.borough.setEditText("Hackney")
    dialog.type.setEditText("Theft")
    dialog.set_grade(Grade.EXTENDED)
    dialog.appointment_agreed.setChecked(True)
    qtbot.keyClicks(dialog.summary, "Bike stolen from shed")
    with qtbot.waitSignal(dialog.submitted) as blocker:
        dialog.submit()
    draft = blocker.args[0]
    assert draft.grade is Grade.EXTENDED and draft.appointment_at is not None
    assert draft.appointment_at.tzinfo is not None


def test_normalise_postcode():
    assert normalise_postcode(" sw1a2aa ") == "SW1A 2AA"
    assert normalise_postcode("e8 1ab") == "E8 1AB"
    assert normalise_postcode("nonsense") == "NONSENSE"
