"""NewIncidentDialog: keyboard-only entry, validation that keeps text, Esc confirmation, and
the warnings popped once the location is entered."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import Caller, Location
from dispatchdesk.domain.warnings import Person, Place, WarningRef
from dispatchdesk.gui.new_incident import ANONYMITY_LABEL, NewIncidentDialog, normalise_postcode
from dispatchdesk.protocol.warnings import find_warnings
from dispatchdesk.sync.api import IncidentDraft
from tests.gui.test_warning_panel import NOW, make_order


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


# --- warnings once the location is entered ----------------------------------------------------

class FakeIndex:
    """Answers like the engine's warning index (the reference matcher), recording each ask."""

    def __init__(self, orders=(), schemes=()):
        self.orders, self.schemes = list(orders), list(schemes)
        self.asked: list[tuple[Place, tuple[Person, ...]]] = []

    def lookup(self, place, people):
        self.asked.append((place, tuple(people)))
        who = people[0] if people else None
        return find_warnings(self.schemes, self.orders, place, who, NOW)


@pytest.fixture
def index():
    return FakeIndex(orders=[make_order(7)])


@pytest.fixture
def warned(qtbot, index):
    dlg = NewIncidentDialog(warnings_for=index.lookup, now=lambda: NOW)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.activateWindow()
    qtbot.waitExposed(dlg)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dlg.address)
    return dlg


def fill_the_rest(qtbot, dlg):
    dlg.borough.setEditText("Camden")
    dlg.type.setEditText("Breach of order")
    dlg.set_grade(Grade.IMMEDIATE)
    dlg.summary.setPlainText("Ex-partner at the door")


def test_entering_a_location_with_an_order_pops_the_panel(qtbot, warned, index):
    type_text(qtbot, "10 High Street, London")
    tab(qtbot)  # focus leaves the address: look up now
    panel = warned.warning_panel
    qtbot.waitUntil(lambda: panel.isVisible() and panel.isActiveWindow())
    assert index.asked == [(Place(address="10 High Street, London"), ())]
    assert warned.location_timer.interval() == NewIncidentDialog.LOCATION_SETTLE_MS
    assert panel.windowTitle() == "WARNINGS — New incident, 10 High Street, London"
    [card] = panel.cards
    assert card.badge.text() == "CRITICAL"
    assert "expires TOMORROW 24 Nov" in card.text.text()
    assert card.expiry.text() == "Expires TOMORROW 24 Nov"
    assert card.why.text().startswith("Matched: POSSIBLE MATCH: similar address")
    assert panel.focused_card() is card
    with qtbot.waitSignal(panel.acknowledged):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)  # acknowledges; does not submit
    assert card.status.text() == "Acknowledged 14:02 by you"
    assert warned.isVisible()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is warned.postcode)  # back to typing
    assert not panel.isVisible() and warned.isVisible()
    type_text(qtbot, "NW1 7AA")
    tab(qtbot)
    qtbot.waitUntil(lambda: len(index.asked) == 2)  # the postcode changed the place
    assert not panel.isVisible()  # the same order again: not popped a second time
    fill_the_rest(qtbot, warned)
    with qtbot.waitSignal(warned.submitted) as blocker:
        warned.submit()
    draft = blocker.args[0]
    assert draft.shown_warnings == (WarningRef("order", 7),)
    assert draft.acknowledged_warnings == (WarningRef("order", 7),)


def test_pause_in_typing_looks_up_and_a_shown_warning_stays_unacknowledged(qtbot, warned, index):
    warned.location_timer.setInterval(50)
    warned.uprn.setFocus()
    type_text(qtbot, "100023")  # the order's UPRN; focus stays in the field
    panel = warned.warning_panel
    qtbot.waitUntil(panel.isVisible)
    assert index.asked[-1][0].uprn == "100023"
    assert panel.cards[0].why.text() == (
        "Matched: exact address (UPRN) — an address named in the order")
    panel.hide()
    qtbot.keyClicks(warned.address, "10 High Street")
    qtbot.keyClicks(warned.postcode, "NW1 7AA")
    fill_the_rest(qtbot, warned)
    with qtbot.waitSignal(warned.submitted) as blocker:
        warned.submit()
    assert blocker.args[0].shown_warnings == (WarningRef("order", 7),)
    assert blocker.args[0].acknowledged_warnings == ()
    assert not panel.isVisible()


def test_caller_name_is_matched_as_a_person(qtbot, warned, index):
    index.orders = [make_order(8, locations=())]
    warned.caller_name.setFocus()
    type_text(qtbot, "John Smith")
    qtbot.keyClicks(warned.address, "1 Elsewhere Road")
    warned.check_warnings()
    assert index.asked[-1] == (Place(address="1 Elsewhere Road"), (Person("John Smith"),))
    panel = warned.warning_panel
    qtbot.waitUntil(panel.isVisible)
    assert panel.cards[0].why.text() == (
        "Matched: POSSIBLE MATCH: same name — the person the order is against")


def test_no_match_no_panel_and_no_lookup_without_a_location(qtbot, warned, index):
    warned.check_warnings()
    assert index.asked == []
    qtbot.keyClicks(warned.address, "99 Nowhere Lane")
    warned.check_warnings()
    warned.check_warnings()  # unchanged: not asked again
    assert len(index.asked) == 1
    assert not warned.warning_panel.isVisible()
