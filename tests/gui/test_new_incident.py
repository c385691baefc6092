"""NewIncidentDialog: keyboard-only entry, validation that keeps text, Esc confirmation, and
the warnings shown beside the fields once the location is entered (never taking the keyboard,
acknowledged before the incident is created)."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.history import IncidentPerson
from dispatchdesk.domain.incident import Caller, Location
from dispatchdesk.domain.reference import LONDON_LISTS, ReferenceLists
from dispatchdesk.domain.warnings import Person, Place, WarningRef
from dispatchdesk.gui.incident.new_incident import ANONYMITY_LABEL, NewIncidentDialog
from dispatchdesk.protocol.warnings import find_warnings_for_people
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
    assert QApplication.focusWidget() is dialog.weapons
    qtbot.keyClick(dialog.weapons, Qt.Key.Key_Space)  # "he has a knife"
    tab(qtbot)
    type_text(qtbot, "Ann Smith")
    tab(qtbot)
    type_text(qtbot, "07700 900123")
    with qtbot.waitSignal(dialog.submitted) as blocker:
        qtbot.keyClick(
            QApplication.focusWidget(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
        )
    assert blocker.args[0] == IncidentDraft(
        grade=Grade.SIGNIFICANT,
        type="Domestic",
        summary="Shouting and banging next door",
        location=Location(
            address="12 High Street", postcode="NW1 7AA", borough="Camden", uprn="100023"
        ),
        caller=Caller(name="Ann Smith", phone="07700 900123", anonymous=False),
        weapons=True,
    )
    assert not dialog.isVisible()


def test_grade_keys_and_extended_shows_appointment(qtbot, dialog):
    seconds = [100.0]
    dialog.grade_keys.clock = lambda: seconds[0]
    dialog.grade.setFocus()
    qtbot.keyClick(dialog.grade, Qt.Key.Key_E)
    assert dialog.selected_grade() is Grade.EXTENDED
    assert dialog._appointment_row.isVisible()
    seconds[0] += 1  # a pause: a new letter, not a word
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


def test_anonymity_never_preticked_worded_as_the_callers_request_and_off_the_tab_path(
    qtbot, dialog
):
    assert not dialog.anonymous.isChecked()
    assert dialog.anonymous.text().replace("&", "") == "Caller asked to stay anonymous"
    assert dialog.anonymous.text() == ANONYMITY_LABEL
    assert dialog.anonymous.focusPolicy() == Qt.FocusPolicy.ClickFocus
    # Tab from the caller's date of birth and role never lands on it
    dialog.caller_dob.setFocus()
    tab(qtbot)
    assert QApplication.focusWidget() is dialog.caller_role
    tab(qtbot)
    assert QApplication.focusWidget() is dialog.add_person_button
    assert not dialog.anonymous.isChecked()


def test_anonymity_is_sent_as_the_callers_request(qtbot, dialog):
    fill_required(qtbot, dialog)
    qtbot.keyClicks(dialog.caller_phone, "07700 900123")
    # on purpose: a click, or its own key (Alt+Y)
    dialog.caller_phone.setFocus()
    qtbot.keyClick(dialog.caller_phone, Qt.Key.Key_Y, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(dialog.anonymous.isChecked)  # a mnemonic clicks after a short animation
    with qtbot.waitSignal(dialog.submitted) as blocker:
        dialog.submit()
    caller = blocker.args[0].caller
    assert caller.anonymous is True and caller.anonymity_requested is True
    assert caller.phone == "07700 900123"


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


# --- warnings once the location is entered ----------------------------------------------------


class FakeIndex:
    """Answers like the engine's warning index (the reference matcher), recording each ask."""

    def __init__(self, orders=(), schemes=()):
        self.orders, self.schemes = list(orders), list(schemes)
        self.asked: list[tuple[Place, tuple[Person, ...]]] = []

    def lookup(self, place, people):
        self.asked.append((place, tuple(people)))
        return find_warnings_for_people(self.schemes, self.orders, place, people, NOW)


@pytest.fixture
def index():
    return FakeIndex(orders=[make_order(7)])


@pytest.fixture
def played() -> list[str]:
    """The alert sounds the form asked for (none is really played in tests)."""
    return []


@pytest.fixture
def warned(qtbot, index, played):
    dlg = NewIncidentDialog(warnings_for=index.lookup, now=lambda: NOW, play_sound=played.append)
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


def ctrl_enter(qtbot):
    qtbot.keyClick(
        QApplication.focusWidget(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
    )


def f4(qtbot):
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F4)


def test_entering_a_location_with_an_order_shows_it_beside_the_form(qtbot, warned, index):
    type_text(qtbot, "10 High Street, London")
    tab(qtbot)  # focus leaves the address: look up now
    panel = warned.warning_panel
    qtbot.waitUntil(panel.isVisible)
    assert index.asked == [(Place(address="10 High Street, London"), ())]
    assert warned.location_timer.interval() == NewIncidentDialog.LOCATION_SETTLE_MS
    assert not panel.isWindow() and warned.isAncestorOf(panel)  # in the form, not over it
    assert QApplication.focusWidget() is warned.postcode  # the keyboard stayed with the call
    assert panel.heading.text() == "CRITICAL — 1 WARNING: New incident, 10 High Street, London"
    [card] = panel.cards
    assert card.badge.text() == "CRITICAL"
    assert "expires TOMORROW 24 Nov" in card.text.text()
    assert card.expiry.text() == "Expires TOMORROW 24 Nov"
    assert card.why.text().startswith("Matched: POSSIBLE MATCH: similar address")
    assert warned.warnings_note.isVisible()
    assert warned.warnings_note.text() == (
        "⚠ 1 warning not yet acknowledged: press F4 to read and acknowledge it."
    )
    f4(qtbot)  # one key to the warnings
    assert panel.focused_card() is card
    with qtbot.waitSignal(panel.acknowledged), qtbot.assertNotEmitted(warned.submitted):
        ctrl_enter(qtbot)  # acknowledges; does not submit
    assert card.status.text() == "Acknowledged 14:02 by you"
    assert QApplication.focusWidget() is warned.postcode  # the last one: back to typing
    assert not warned.warnings_note.isVisible()
    assert panel.isVisible() and warned.isVisible()  # still there to read
    type_text(qtbot, "NW1 7AA")
    tab(qtbot)
    qtbot.waitUntil(lambda: len(index.asked) == 2)  # the postcode changed the place
    assert not panel.unacknowledged()
    fill_the_rest(qtbot, warned)
    with qtbot.waitSignal(warned.submitted) as blocker:
        warned.submit()
    draft = blocker.args[0]
    assert draft.shown_warnings == (WarningRef("order", 7),)
    assert draft.acknowledged_warnings == (WarningRef("order", 7),)


def test_typing_with_pauses_keeps_every_keystroke_in_its_field(qtbot, warned, index, played):
    """Issue 9 item 7, as it happened: the address typed a character at a time with pauses
    (the lookup fires and the warning appears mid-word), Tab, the postcode with its space,
    then Ctrl+Enter. Every keystroke lands in the field being typed in, the warning stays in
    sight, and nothing is created until it is acknowledged."""
    warned.location_timer.setInterval(20)  # the pause, shortened; the timer still decides
    fill_the_rest(qtbot, warned)
    panel = warned.warning_panel
    address = "10 High Street, London"
    for n, char in enumerate(address, 1):
        qtbot.keyClick(QApplication.focusWidget(), char)
        assert QApplication.focusWidget() is warned.address
        assert warned.address.text() == address[:n]
        if address[:n] in ("10 High", "10 High Street, Lon", address):
            asked = len(index.asked)
            qtbot.waitUntil(lambda asked=asked: len(index.asked) == asked + 1)  # a pause
            assert QApplication.focusWidget() is warned.address
            if n == len("10 High Street, Lon"):
                assert panel.isVisible()  # it appeared mid-word; typing goes on
    assert panel.isVisible() and panel.unacknowledged() == [WarningRef("order", 7)]
    assert played == ["breach"]  # one sound, for the critical order, when it appeared
    tab(qtbot)
    for n, char in enumerate("NW1 7AA", 1):  # Tab + Space hid the old panel: not this one
        qtbot.keyClick(QApplication.focusWidget(), char)
        assert QApplication.focusWidget() is warned.postcode
        assert warned.postcode.text() == "NW1 7AA"[:n]
    assert warned.address.text() == address
    assert panel.isVisible() and panel.unacknowledged() == [WarningRef("order", 7)]
    with qtbot.assertNotEmitted(warned.submitted):
        ctrl_enter(qtbot)
    assert warned.isVisible()
    assert warned.warnings_note.text() == (
        "⚠ Acknowledge the 1 warning first (F4): the incident is not created until you do."
    )
    assert QApplication.focusWidget() is warned.postcode  # nothing moved
    assert (warned.address.text(), warned.postcode.text()) == (address, "NW1 7AA")
    f4(qtbot)
    assert panel.focused_card() is panel.cards[0]
    ctrl_enter(qtbot)  # acknowledges the warning, then back to the postcode
    assert QApplication.focusWidget() is warned.postcode
    with qtbot.waitSignal(warned.submitted) as blocker:
        ctrl_enter(qtbot)  # now it creates
    assert blocker.args[0].acknowledged_warnings == (WarningRef("order", 7),)
    assert blocker.args[0].location.address == address
    assert played == ["breach"]


def test_escape_from_the_warnings_returns_to_the_field_and_leaves_them_in_sight(
    qtbot, warned, index
):
    warned.uprn.setFocus()
    type_text(qtbot, "100023")  # the order's UPRN
    warned.check_warnings()  # the pause
    panel = warned.warning_panel
    assert panel.isVisible() and QApplication.focusWidget() is warned.uprn
    assert panel.cards[0].why.text() == (
        "Matched: exact address (UPRN) — an address named in the order"
    )
    warned.caller_name.setFocus()
    type_text(qtbot, "Ann")
    f4(qtbot)
    assert panel.focused_card() is panel.cards[0]
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is warned.caller_name  # the field left
    assert warned.isVisible() and not warned.confirm_label.isVisible()  # not the form's Esc
    assert panel.isVisible() and panel.unacknowledged() == [WarningRef("order", 7)]
    type_text(qtbot, " Jones")
    assert warned.caller_name.text() == "Ann Jones"
    # Reached another way (a click on the warning), Esc goes back as well.
    warned.summary.setFocus()
    panel.cards[0].setFocus(Qt.FocusReason.MouseFocusReason)
    assert panel.focused_card() is panel.cards[0]
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is warned.summary
    assert panel.isVisible()


def test_a_shown_warning_left_unacknowledged_blocks_create_until_acknowledged(qtbot, warned, index):
    warned.location_timer.setInterval(50)
    warned.uprn.setFocus()
    type_text(qtbot, "100023")
    panel = warned.warning_panel
    qtbot.waitUntil(panel.isVisible)
    assert index.asked[-1][0].uprn == "100023"
    qtbot.keyClicks(warned.address, "10 High Street")
    qtbot.keyClicks(warned.postcode, "NW1 7AA")
    fill_the_rest(qtbot, warned)
    with qtbot.assertNotEmitted(warned.submitted):
        warned.create_button.click()
    assert "Acknowledge the 1 warning first" in warned.warnings_note.text()
    panel.cards[0].ack_button.click()  # the mouse way
    with qtbot.waitSignal(warned.submitted) as blocker:
        warned.create_button.click()
    assert blocker.args[0].shown_warnings == (WarningRef("order", 7),)
    assert blocker.args[0].acknowledged_warnings == (WarningRef("order", 7),)
    assert not panel.isVisible()  # gone with the form


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
        "Matched: POSSIBLE MATCH: same name — the person the order is against"
    )


def test_no_match_no_panel_and_no_lookup_without_a_location(qtbot, warned, index):
    warned.check_warnings()
    assert index.asked == []
    qtbot.keyClicks(warned.address, "99 Nowhere Lane")
    warned.check_warnings()
    warned.check_warnings()  # unchanged: not asked again
    assert len(index.asked) == 1
    assert not warned.warning_panel.isVisible()


# --- caller's date of birth and the people named -------------------------------------------


def ctrl_shift_p(qtbot):
    qtbot.keyClick(
        QApplication.focusWidget(),
        Qt.Key.Key_P,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )


def fill_required(qtbot, dlg):
    qtbot.keyClicks(dlg.address, "3 Mill Lane")
    qtbot.keyClicks(dlg.postcode, "E8 1AB")
    fill_the_rest(qtbot, dlg)


def test_caller_dob_and_people_named_go_into_the_draft(qtbot, warned):
    fill_required(qtbot, warned)
    qtbot.keyClicks(warned.caller_name, "Ann Smith")
    warned.caller_dob.setFocus()
    type_text(qtbot, "1/12/1990")
    ctrl_shift_p(qtbot)  # a row, focused on its name
    [first] = warned.person_rows
    assert QApplication.focusWidget() is first.name
    type_text(qtbot, "Gary  HOLLIS ")
    tab(qtbot)
    assert QApplication.focusWidget() is first.dob
    type_text(qtbot, "1984-03-09")
    ctrl_shift_p(qtbot)
    type_text(qtbot, "Kim Lee")  # no date of birth: still named
    ctrl_shift_p(qtbot)  # left empty: ignored
    assert [r.name.accessibleName() for r in warned.person_rows] == [
        "Person 1 name",
        "Person 2 name",
        "Person 3 name",
    ]
    with qtbot.waitSignal(warned.submitted) as blocker:
        qtbot.keyClick(
            QApplication.focusWidget(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
        )
    draft = blocker.args[0]
    assert draft.caller == Caller(name="Ann Smith", dob=date(1990, 12, 1))
    assert draft.persons == (
        IncidentPerson("Gary HOLLIS", date(1984, 3, 9)),
        IncidentPerson("Kim Lee"),
    )


def test_tab_order_runs_through_the_people_named(qtbot, dialog):
    first, second = dialog.add_person(), dialog.add_person()
    dialog.caller_phone.setFocus()
    order = []
    for _ in range(13):
        tab(qtbot)
        order.append(QApplication.focusWidget())
    assert order == [
        dialog.caller_dob,
        dialog.caller_role,
        first.name,
        first.dob,
        first.role,
        first.remove_button,
        second.name,
        second.dob,
        second.role,
        second.remove_button,
        dialog.add_person_button,
        dialog.cancel_button,
        dialog.create_button,
    ]


def test_tab_through_the_form_never_lands_in_the_warnings(qtbot, warned, index):
    """With warnings beside it, Tab still runs address to Create; the warnings come only
    after Create (or with F4), and a person added later still comes before Create."""
    type_text(qtbot, "10 High Street, London")
    warned.check_warnings()
    panel = warned.warning_panel
    assert panel.isVisible()
    warned.add_person()
    warned.address.setFocus()
    seen = []
    while QApplication.focusWidget() is not warned.create_button and len(seen) < 40:
        tab(qtbot)
        seen.append(QApplication.focusWidget())
    assert seen[-1] is warned.create_button
    assert not any(panel.isAncestorOf(w) for w in seen)
    tab(qtbot)  # past Create: the warnings, in reading order
    assert panel.focused_card() is panel.cards[0]


def test_a_row_is_removed_from_the_keyboard(qtbot, dialog):
    first, second = dialog.add_person(), dialog.add_person()
    qtbot.keyClicks(first.name, "Gary Hollis")
    qtbot.keyClicks(second.name, "Kim Lee")
    first.remove_button.setFocus()
    qtbot.keyClick(first.remove_button, Qt.Key.Key_Space)
    assert dialog.person_rows == [second]
    assert QApplication.focusWidget() is second.name  # the next row takes focus
    assert second.name.accessibleName() == "Person 1 name"
    second.remove_button.setFocus()
    qtbot.keyClick(second.remove_button, Qt.Key.Key_Space)
    assert dialog.person_rows == []
    assert QApplication.focusWidget() is dialog.add_person_button
    qtbot.waitUntil(lambda: not dialog.persons_box.findChildren(type(second)))  # deleted


def test_twenty_people_at_most(qtbot, dialog):
    for _ in range(NewIncidentDialog.MAX_PERSONS):
        assert dialog.add_person() is not None
    assert not dialog.add_person_button.isEnabled()
    assert dialog.add_person() is None
    assert len(dialog.person_rows) == 20
    assert not dialog.persons_note.isHidden() and "summary" in dialog.persons_note.text()
    dialog.remove_person(dialog.person_rows[-1])
    assert dialog.add_person_button.isEnabled() and dialog.persons_note.isHidden()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("24/11/2026", "A date of birth cannot be in the future."),  # NOW is 23 Nov 2026
        ("31/02/1990", "No such date: 31/02/1990"),
        ("09/03/84", "Give the year in full"),
        ("last spring", "Not a date: type the date of birth as dd/mm/yyyy"),
        ("01/01/1850", "Before 1900: check the year."),
    ],
)
def test_bad_caller_dob_is_refused_and_kept(qtbot, warned, typed, message):
    fill_required(qtbot, warned)
    qtbot.keyClicks(warned.caller_name, "Ann Smith")
    qtbot.keyClicks(warned.caller_dob, typed)
    with qtbot.assertNotEmitted(warned.submitted):
        warned.submit()
    field = warned._fields["caller_dob"]
    assert field.error.text().startswith(f"⚠ {message}") and not field.error.isHidden()
    assert warned.caller_dob.text() == typed
    assert QApplication.focusWidget() is warned.caller_dob
    assert warned.isVisible()


def test_bad_or_orphan_person_dob_is_refused(qtbot, warned):
    fill_required(qtbot, warned)
    named, orphan = warned.add_person(), warned.add_person()
    qtbot.keyClicks(named.name, "Gary Hollis")
    qtbot.keyClicks(named.dob, "2027-01-01")
    qtbot.keyClicks(orphan.dob, "09/03/1984")  # a date of birth with no name
    with qtbot.assertNotEmitted(warned.submitted):
        warned.submit()
    assert warned.errors() == {
        "person1_dob": "A date of birth cannot be in the future.",
        "person2_name": "A name is required with a date of birth.",
    }
    assert named.dob_field.error.text() == "⚠ A date of birth cannot be in the future."
    assert not orphan.name_field.error.isHidden()
    assert QApplication.focusWidget() is named.dob  # the first problem, in Tab order
    named.dob.setText("09/03/1984")
    orphan.name.setText("Kim Lee")
    with qtbot.waitSignal(warned.submitted) as blocker:
        warned.submit()
    assert blocker.args[0].persons == (
        IncidentPerson("Gary Hollis", date(1984, 3, 9)),
        IncidentPerson("Kim Lee", date(1984, 3, 9)),
    )


def test_caller_dob_needs_the_callers_name(qtbot, warned):
    fill_required(qtbot, warned)
    qtbot.keyClicks(warned.caller_dob, "09/03/1984")
    with qtbot.assertNotEmitted(warned.submitted):
        warned.submit()
    assert warned.errors() == {"caller_name": "Give the caller's name with the date of birth."}
    assert QApplication.focusWidget() is warned.caller_name


def test_leaving_a_bad_dob_says_so_at_once(qtbot, dialog):
    dialog.caller_dob.setFocus()
    type_text(qtbot, "3/13/1984")  # month first: no 13th month
    tab(qtbot)
    error = dialog._fields["caller_dob"].error
    assert not error.isHidden() and "No such date" in error.text()
    assert dialog.caller_dob.accessibleDescription().startswith("No such date")
    dialog.caller_dob.setFocus()
    dialog.caller_dob.setText("13/3/1984")
    tab(qtbot)
    assert error.isHidden()


def test_a_person_named_after_the_address_pops_the_panel(qtbot, warned, index):
    index.orders = [make_order(8, locations=())]  # John SMITH, born 1 Feb 1980
    type_text(qtbot, "1 Elsewhere Road")
    tab(qtbot)
    qtbot.waitUntil(lambda: len(index.asked) == 1)
    assert not warned.warning_panel.isVisible()  # nothing at the address
    qtbot.keyClicks(warned.caller_name, "Ann Smith")
    warned.caller_dob.setFocus()
    type_text(qtbot, "01/12/1990")
    ctrl_shift_p(qtbot)  # leaving the caller's DOB looks up: the caller is no match
    qtbot.waitUntil(lambda: len(index.asked) == 2)
    type_text(qtbot, "John Smith")
    tab(qtbot)  # to the same person's DOB: wait for it
    type_text(qtbot, "01/02/1980")
    tab(qtbot)  # leaving the DOB: look up with the whole person
    panel = warned.warning_panel
    qtbot.waitUntil(lambda: panel.isVisible() and panel.isActiveWindow())
    assert index.asked[2:] == [
        (
            Place(address="1 Elsewhere Road"),
            (Person("Ann Smith", date(1990, 12, 1)), Person("John Smith", date(1980, 2, 1))),
        )
    ]
    [card] = panel.cards
    assert card.why.text() == (
        "Matched: person: name and date of birth — the person the order is against"
    )
    assert not card.warning.possible


def test_a_wrong_dob_on_the_subjects_name_is_no_match(qtbot, warned, index):
    index.orders = [make_order(8, locations=())]
    qtbot.keyClicks(warned.address, "1 Elsewhere Road")
    row = warned.add_person()
    qtbot.keyClicks(row.name, "John Smith")
    qtbot.keyClicks(row.dob, "02/02/1980")  # another John Smith
    warned.check_warnings()
    assert index.asked[-1][1] == (Person("John Smith", date(1980, 2, 2)),)
    assert not warned.warning_panel.isVisible()
    row.dob.setText("02/02/19")  # not a date yet: matched on the name alone, never hidden
    warned.check_warnings()
    qtbot.waitUntil(warned.warning_panel.isVisible)
    assert warned.warning_panel.cards[0].warning.possible


def test_rows_added_before_the_form_is_shown_appear_with_it(qtbot):
    dlg = NewIncidentDialog()
    qtbot.addWidget(dlg)
    row = dlg.add_person()
    dlg.show()
    qtbot.waitExposed(dlg)
    assert row.isVisible() and row.name.isVisible()


def test_ctrl_enter_straight_after_typing_looks_up_first(qtbot, warned, index):
    """No pause, no leaving the field: Ctrl+Enter looks up what was just typed, so a warning
    at that address is shown, and must be acknowledged, before the incident is created."""
    fill_the_rest(qtbot, warned)
    warned.postcode.setText("NW1 7AA")
    row = warned.add_person()
    qtbot.keyClicks(warned.address, "10 High Street, London")  # the order's address
    row.name.setFocus()
    type_text(qtbot, "John Smith")
    with qtbot.assertNotEmitted(warned.submitted):
        ctrl_enter(qtbot)
    panel = warned.warning_panel
    assert panel.isVisible() and panel.unacknowledged() == [WarningRef("order", 7)]
    assert QApplication.focusWidget() is row.name and row.name.text() == "John Smith"
    f4(qtbot)
    ctrl_enter(qtbot)
    assert QApplication.focusWidget() is row.name
    asked = len(index.asked)
    with qtbot.waitSignal(warned.submitted):
        ctrl_enter(qtbot)
    # The closing form's focus-out queued a lookup (a zero-delay timer); one queued after it
    # fires after it: nothing is looked up or shown over an incident already sent.
    after: list[bool] = []
    QTimer.singleShot(0, lambda: after.append(True))
    qtbot.waitUntil(lambda: after == [True])
    assert len(index.asked) == asked and not panel.isVisible()


def test_many_people_scroll_and_the_focused_one_is_in_view(qtbot, warned):
    rows = [warned.add_person() for _ in range(NewIncidentDialog.MAX_PERSONS)]
    area = warned.persons_area

    def in_view(widget):
        centre = widget.mapTo(area.viewport(), widget.rect().center())
        return area.viewport().rect().contains(centre)

    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0)  # capped: it scrolls
    qtbot.waitUntil(lambda: in_view(rows[-1].name))  # the new row, focused, is shown
    fill_required(qtbot, warned)
    rows[0].dob.setText("09/03/1984")  # a DOB with no name, in a row scrolled away
    with qtbot.assertNotEmitted(warned.submitted):
        warned.submit()
    assert QApplication.focusWidget() is rows[0].name
    qtbot.waitUntil(lambda: in_view(rows[0].name))


# --- the server's reference lists -------------------------------------------------------------


@pytest.fixture
def listed(qtbot):
    dlg = NewIncidentDialog(reference=LONDON_LISTS, now=lambda: NOW)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.activateWindow()
    qtbot.waitExposed(dlg)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dlg.address)
    return dlg


def server_words(pick, text):
    """The sentence the server refuses ``text`` with (the same domain rule)."""
    with pytest.raises(ValueError) as err:
        pick(text)
    return str(err.value)


def test_the_form_offers_the_server_lists(qtbot):
    lists = ReferenceLists(boroughs=("North", "South"), incident_types=("Fire", "Flood"))
    dlg = NewIncidentDialog(reference=lists)
    qtbot.addWidget(dlg)
    items = [dlg.borough.itemText(i) for i in range(dlg.borough.count())]
    assert items == ["North", "South"]
    assert [dlg.type.itemText(i) for i in range(dlg.type.count())] == ["Fire", "Flood"]
    # a snapshot with other lists: offered at once, and what was typed stays
    dlg.borough.setEditText("Sou")
    dlg.set_reference(LONDON_LISTS)
    assert dlg.borough.count() == 33 and dlg.borough.currentText() == "Sou"
    assert dlg.type.findText("Concern for welfare") >= 0


def test_values_off_the_lists_are_refused_inline_before_sending(qtbot, listed):
    type_text(qtbot, "!!")
    tab(qtbot)  # leaving the address says it at once
    assert "has no letters" in listed._fields["address"].error.text()
    for _ in range(3):
        tab(qtbot)  # postcode, UPRN, parent UPRN
    assert QApplication.focusWidget() in (listed.borough, listed.borough.lineEdit())
    type_text(qtbot, "Narnia")
    tab(qtbot)
    words = server_words(LONDON_LISTS.borough, "Narnia")
    assert "Did you mean Barnet" in words
    assert listed._fields["borough"].error.text() == f"⚠ {words}"
    type_text(qtbot, "Alien landing")
    tab(qtbot)
    assert listed._fields["type"].error.text() == (
        "⚠ " + server_words(LONDON_LISTS.incident_type, "Alien landing")
    )
    listed.postcode.setText("NW1 7AA")
    listed.set_grade(Grade.IMMEDIATE)
    listed.summary.setPlainText("Lights in the sky")
    listed.caller_name.setText("Ann Smith")
    listed.caller_dob.setText("01/01/2099")
    with qtbot.assertNotEmitted(listed.submitted):
        listed.submit()
    errors = listed.errors()
    assert set(errors) == {"address", "borough", "type", "caller_dob"}
    assert errors["caller_dob"] == "A date of birth cannot be in the future."
    assert listed.isVisible() and QApplication.focusWidget() is listed.address
    assert (listed.address.text(), listed.borough.currentText(), listed.type.currentText()) == (
        "!!",
        "Narnia",
        "Alien landing",
    )  # what was typed is kept
    # put right, in any case: sent as the list spells it
    listed.address.setText("12 High Street")
    listed.borough.setEditText("  camden ")
    listed.type.setEditText("concern FOR welfare")
    listed.caller_dob.setText("09/03/1984")
    with qtbot.waitSignal(listed.submitted) as blocker:
        listed.submit()
    draft = blocker.args[0]
    assert (draft.location.borough, draft.type) == ("Camden", "Concern for welfare")
    assert draft.caller.dob == date(1984, 3, 9)


def test_without_lists_the_desk_leaves_the_borough_to_the_server(qtbot, dialog):
    # an older server sent none: the London defaults are offered, nothing is refused here
    assert dialog.borough.findText("Westminster") >= 0
    dialog.address.setText("12 High Street")
    dialog.postcode.setText("NW1 7AA")
    dialog.borough.setEditText("Narnia")
    dialog.type.setEditText("Alien landing")
    dialog.set_grade(Grade.IMMEDIATE)
    dialog.summary.setPlainText("Lights in the sky")
    assert dialog.errors() == {}
    dialog.address.setText("123")  # an address with no letters is never one
    assert "has no letters" in dialog.errors()["address"]


def test_a_warning_found_after_the_others_were_acknowledged_blocks_create_again(
    qtbot, warned, index, played
):
    index.orders = [make_order(7), make_order(8, locations=(), subject="Gary HOLLIS")]
    fill_the_rest(qtbot, warned)
    qtbot.keyClicks(warned.address, "10 High Street, London")
    qtbot.keyClicks(warned.postcode, "NW1 7AA")
    warned.check_warnings()
    panel = warned.warning_panel
    panel.acknowledge(WarningRef("order", 7))
    assert warned.unacknowledged_warnings() == [] and not warned.warnings_note.isVisible()
    row = warned.add_person()
    type_text(qtbot, "Gary Hollis")  # into the new row: the subject of another order
    assert row.name.text() == "Gary Hollis"
    with qtbot.assertNotEmitted(warned.submitted):
        ctrl_enter(qtbot)  # looked up at once: the new order blocks
    assert warned.unacknowledged_warnings() == [WarningRef("order", 8)]
    assert QApplication.focusWidget() is row.name
    assert "Acknowledge the 1 warning first" in warned.warnings_note.text()
    assert played == ["breach", "breach"]  # each critical order sounded as it appeared
    f4(qtbot)
    assert panel.focused_card().ref == WarningRef("order", 8)
    ctrl_enter(qtbot)
    with qtbot.waitSignal(warned.submitted) as blocker:
        ctrl_enter(qtbot)
    assert blocker.args[0].acknowledged_warnings == (WarningRef("order", 7), WarningRef("order", 8))
