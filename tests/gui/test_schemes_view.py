"""SchemesView: the model passes the model tester, review states and expiry in words, filters,
expired schemes gone at once, and the actions from the keyboard, checked before sending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtWidgets import QApplication

from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    ReviewState,
    SchemeCategory,
    VictimContactOutcome,
)
from dispatchdesk.gui.warnings.schemes_model import (
    REVIEW_STATE_ROLE,
    SCHEME_ID_ROLE,
    SchemeColumn,
    SchemeFilter,
    SchemesTableModel,
    in_words,
)
from dispatchdesk.gui.warnings.schemes_view import SchemeAction, SchemesView
from dispatchdesk.protocol.warnings import VictimContactOut
from tests.gui.test_warning_panel import NOW, make_scheme

LONDON = ZoneInfo("Europe/London")
#: The default review window (28 days before expiry).
WINDOW = DEFAULT_WARNING_POLICY.review_window


def schemes():
    return [
        make_scheme(
            1,
            expires_at=NOW + timedelta(days=90),
            victim_informed_at=datetime(2026, 11, 12, 10, 0, tzinfo=UTC),
        ),
        make_scheme(2, expires_at=NOW + timedelta(days=10), category=SchemeCategory.OFFICER_SAFETY),
        make_scheme(
            3,
            expires_at=NOW + timedelta(days=12, hours=1),
            review_requested_at=NOW - timedelta(days=3),
        ),
        make_scheme(
            4,
            expires_at=NOW + timedelta(days=5),
            review_requested_at=NOW - timedelta(days=15),
            victim_informed_at=NOW - timedelta(days=40),
        ),
        make_scheme(5, expires_at=NOW - timedelta(hours=1)),  # expired: never shown
    ]


def index_of(schemes):
    index = WarningIndex()
    index.replace(schemes, [])
    return index


def feed(view, schemes):
    """Show a new index holding ``schemes`` (as after a snapshot)."""
    view.show_index(index_of(schemes))


@pytest.fixture
def clock():
    return FakeClock(NOW)


@pytest.fixture
def view(qtbot, clock, commands):
    v = SchemesView(commands, clock.now)
    qtbot.addWidget(v)
    feed(v, schemes())
    v.resize(1200, 600)
    v.show()
    v.activateWindow()
    qtbot.waitExposed(v)
    v.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is v.table)
    return v


def cells(view, scheme_id):
    model = view.model
    for row in range(model.rowCount()):
        if model.scheme_id(row) == scheme_id:
            return [model.index(row, c).data() for c in range(model.columnCount())]
    raise AssertionError(f"scheme {scheme_id} not shown")


def select(qtbot, view, scheme_id):
    assert view.select_scheme(scheme_id)
    view.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.table)


def key(qtbot, keys, modifiers=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(QApplication.focusWidget(), keys, modifiers)


CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def set_when(view, y, m, d, hh, mm):
    view.when.setDateTime(QDateTime(QDate(y, m, d), QTime(hh, mm)))


def test_model_passes_the_model_tester(qapp, qtmodeltester, clock):
    model = SchemesTableModel(clock.now)
    model.show(index_of(schemes()))
    qtmodeltester.check(model)
    model.show(index_of([]))
    qtmodeltester.check(model)


def test_cells_say_review_state_expiry_and_victim_in_words(view):
    assert view.model.rowCount() == 4  # the expired one is not viewable
    assert cells(view, 1) == [
        "10 High Street, London",
        "Victim at risk",
        "DA victim lives here (scheme 1)",
        "DC Patel",
        "24 Oct 2026",
        "21 Feb 2027 14:02 — in 90 days",
        "Active",
        "Yes, 12 Nov",
    ]
    assert cells(view, 2)[1] == "Officer safety"
    assert cells(view, 2)[5:] == ["03 Dec 2026 14:02 — in 10 days", "Review due", "NOT informed"]
    assert cells(view, 3)[5:7] == ["05 Dec 2026 15:02 — in 12 days", "First-stage review requested"]
    assert cells(view, 4)[6:] == ["ESCALATED (second stage)", "Yes, 14 Oct"]
    index = view.model.index(1, SchemeColumn.REVIEW)
    assert index.data(Qt.ItemDataRole.DecorationRole) is not None  # an icon as well
    assert index.data(Qt.ItemDataRole.ForegroundRole) is not None  # and a colour
    assert index.data(REVIEW_STATE_ROLE) == ReviewState.REVIEW_DUE
    first = view.model.index(0, 0).data()
    assert first and view.model.index(0, SchemeColumn.EXPIRES).data().endswith("in 5 days")


def test_in_words():
    assert in_words(timedelta(days=12, hours=3)) == "in 12 days"
    assert in_words(timedelta(days=1, hours=1)) == "in 1 day"
    assert in_words(timedelta(hours=5, minutes=9)) == "in 5 hours"
    assert in_words(timedelta(minutes=3, seconds=2)) == "in 3 min"


def test_filters(qtbot, view):
    shown = {which: view.model.count(which) for which in SchemeFilter}
    assert shown == {
        SchemeFilter.ALL: 4,
        SchemeFilter.DUE: 3,
        SchemeFilter.ESCALATED: 1,
        SchemeFilter.VICTIM_NOT_INFORMED: 2,
    }
    assert view.filter_buttons[SchemeFilter.DUE].text() == "Due for review (3)"
    view.filter_buttons[SchemeFilter.ESCALATED].click()
    assert view.model.rowCount() == 1
    assert view.model.index(0, SchemeColumn.REVIEW).data() == "ESCALATED (second stage)"
    view.filter_buttons[SchemeFilter.VICTIM_NOT_INFORMED].click()
    assert {view.model.index(r, 0).data(SCHEME_ID_ROLE) for r in range(view.model.rowCount())} == {
        2,
        3,
    }
    view.set_filter(SchemeFilter.ALL)
    assert view.model.rowCount() == 4 and view.filter_buttons[SchemeFilter.ALL].isChecked()


def test_refresh_now_moves_review_states_and_drops_expired(qtbot, view, clock):
    feed(
        view,
        [
            make_scheme(1, expires_at=NOW + WINDOW + timedelta(hours=1)),
            make_scheme(2, expires_at=NOW + timedelta(minutes=30)),
        ],
    )
    assert cells(view, 1)[6] == "Active"
    clock.advance(timedelta(hours=2))
    with qtbot.waitSignal(view.model.rowsRemoved), qtbot.waitSignal(view.model.dataChanged):
        view.refresh_now()
    assert view.model.scheme_ids() == [1]
    assert cells(view, 1)[6] == "Review due"
    assert view.filter_buttons[SchemeFilter.DUE].text() == "Due for review (1)"


def test_actions_follow_the_selection(qtbot, view, commands):
    view.table.clearSelection()
    assert not any(a.isEnabled() for a in view.actions_by_kind.values())
    assert view.action_buttons[next(iter(view.action_buttons))].toolTip() == (
        "Select a scheme first."
    )
    select(qtbot, view, 3)  # a review is already requested
    enabled = {k.value: a.isEnabled() for k, a in view.actions_by_kind.items()}
    assert enabled == {"extend": True, "end": True, "review": False, "victim": True}
    select(qtbot, view, 2)
    assert all(a.isEnabled() for a in view.actions_by_kind.values())


def test_extend_beyond_six_months_is_refused_here_and_within_is_sent(qtbot, view, commands):
    select(qtbot, view, 2)
    key(qtbot, Qt.Key.Key_E, CTRL_SHIFT)
    assert view.form.isVisible() and QApplication.focusWidget() is view.when
    assert "Latest allowed: 23 May 2027 14:02" in view.hint.text()
    set_when(view, 2027, 5, 24, 9, 0)
    key(qtbot, Qt.Key.Key_Return)
    assert commands.calls == []
    error = view.form_error.text()
    assert "at most 6 months" in error and "latest expiry allowed is 23 May 2027 14:02" in error
    assert view.form.isVisible()  # input kept
    set_when(view, 2027, 5, 23, 14, 2)
    view.text.setFocus()
    qtbot.keyClicks(view.text, "Risk remains: perpetrator released")
    key(qtbot, Qt.Key.Key_Return)
    [(name, (scheme, expires, note))] = commands.calls
    assert name == "extend_scheme" and scheme.id == 2
    assert expires == datetime(2027, 5, 23, 14, 2, tzinfo=LONDON)
    assert note == "Risk remains: perpetrator released"
    assert not view.form.isVisible()
    assert view.status.text().startswith("Extension to 23 May 2027 14:02 sent")


def test_extend_before_now_is_refused(qtbot, view, commands):
    select(qtbot, view, 1)
    view.start(SchemeAction.EXTEND)
    set_when(view, 2026, 11, 20, 9, 0)
    view.submit()
    assert "must be after the scheme's extension" in view.form_error.text()
    assert commands.calls == []


def test_end_requires_a_reason(qtbot, view, commands):
    select(qtbot, view, 4)
    key(qtbot, Qt.Key.Key_K, CTRL_SHIFT)
    assert QApplication.focusWidget() is view.text
    key(qtbot, Qt.Key.Key_Return)
    assert view.form_error.text() == "⚠ A reason is required to end a scheme."
    assert commands.calls == []
    qtbot.keyClicks(view.text, "Victim rehoused out of force")
    key(qtbot, Qt.Key.Key_Return)
    [(name, (scheme, reason))] = commands.calls
    assert (name, scheme.id, reason) == ("end_scheme", 4, "Victim rehoused out of force")


def test_request_review_and_victim_informed(qtbot, view, commands, clock):
    select(qtbot, view, 2)
    key(qtbot, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert view.form.isVisible() and not view.when.isVisible()
    key(qtbot, Qt.Key.Key_Return)  # note optional
    select(qtbot, view, 2)
    key(qtbot, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is view.when
    key(qtbot, Qt.Key.Key_Return)  # default: now
    assert [(n, a[0].id, *a[1:]) for n, a in commands.calls] == [
        ("request_scheme_review", 2, None),
        ("scheme_victim_contact", 2, VictimContactOutcome.INFORMED, NOW.astimezone(LONDON), None),
    ]


def test_victim_informed_in_the_future_and_escape_cancels(qtbot, view, commands):
    select(qtbot, view, 2)
    key(qtbot, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    set_when(view, 2026, 11, 24, 9, 0)
    key(qtbot, Qt.Key.Key_Return)
    assert "cannot be in the future" in view.form_error.text()
    key(qtbot, Qt.Key.Key_Escape)
    assert not view.form.isVisible() and commands.calls == []
    assert QApplication.focusWidget() is view.table


def test_new_data_keeps_selection_and_closes_a_form_for_a_gone_scheme(qtbot, view, commands):
    select(qtbot, view, 2)
    key(qtbot, Qt.Key.Key_K, CTRL_SHIFT)
    feed(view, [s for s in schemes() if s.id != 3])
    assert view.selected() is not None and view.selected().id == 2
    assert view.form.isVisible()
    feed(view, [s for s in schemes() if s.id != 2])
    assert not view.form.isVisible()
    assert "no longer live" in view.status.text()
    assert commands.calls == []


def test_refresh_meets_boundaries_to_the_second_and_text_within_a_minute(qtbot, view, clock):
    feed(view, [make_scheme(1, expires_at=NOW + WINDOW + timedelta(seconds=5))])
    clock.advance(timedelta(seconds=4))
    with qtbot.assertNotEmitted(view.model.dataChanged):
        view.refresh_now()  # nothing can have changed yet: no work at all
    clock.advance(timedelta(seconds=1))
    with qtbot.waitSignal(view.model.dataChanged):
        view.refresh_now()
    assert cells(view, 1)[6] == "Review due"  # on the second
    feed(view, [make_scheme(2, expires_at=NOW + timedelta(minutes=10))])
    assert cells(view, 2)[5].endswith("in 9 min")
    clock.advance(timedelta(minutes=1))
    view.refresh_now()
    assert cells(view, 2)[5].endswith("in 8 min")


def test_state_colours_follow_the_theme(qtbot, view):
    index = view.model.index(1, SchemeColumn.REVIEW)  # review due
    normal = index.data(Qt.ItemDataRole.BackgroundRole)
    with qtbot.waitSignal(view.model.dataChanged):
        view.set_theme("high-contrast")
    assert index.data(Qt.ItemDataRole.BackgroundRole) != normal
    victim = view.model.index(1, SchemeColumn.VICTIM)  # NOT informed
    assert victim.data(Qt.ItemDataRole.ForegroundRole) is not None
    assert victim.data(Qt.ItemDataRole.DecorationRole) is not None


def contact(outcome, at, note=None, outset=False):
    return VictimContactOut(
        outcome=outcome, at=at, note=note, by="sue", recorded_at=at, outset=outset
    )


def test_victim_contact_records_a_failed_attempt_with_a_note(qtbot, view, commands):
    select(qtbot, view, 2)
    key(qtbot, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    assert view.outcome_row.isVisible() and view.text.isVisible()
    assert view.hint.text() == "No victim contact recorded yet."
    assert view.outcome_buttons[VictimContactOutcome.INFORMED].isChecked()  # the default
    qtbot.mouseClick(
        view.outcome_buttons[VictimContactOutcome.NO_CONTACT], Qt.MouseButton.LeftButton
    )
    set_when(view, 2026, 11, 23, 9, 30)
    view.text.setFocus()
    qtbot.keyClicks(view.text, "No answer on her mobile; voicemail left")
    key(qtbot, Qt.Key.Key_Return)
    [(name, (scheme, outcome, at, note))] = commands.calls
    assert (name, scheme.id, outcome) == (
        "scheme_victim_contact",
        2,
        VictimContactOutcome.NO_CONTACT,
    )
    assert at == datetime(2026, 11, 23, 9, 30, tzinfo=LONDON)
    assert note == "No answer on her mobile; voicemail left"
    assert view.status.text().startswith(
        "Failed attempt to tell the victim at 23 Nov 2026 09:30 sent"
    )
    # other forms do not show the outcome choice
    select(qtbot, view, 2)
    view.start(SchemeAction.REVIEW)
    assert not view.outcome_row.isVisible()


def test_the_victim_column_and_the_form_show_the_last_contact(qtbot, view):
    told = datetime(2026, 11, 12, 10, 0, tzinfo=UTC)
    failed = datetime(2026, 11, 20, 18, 5, tzinfo=UTC)
    scheme = make_scheme(1, victim_informed_at=told).model_copy(
        update={
            "victim_contacts": [
                contact(VictimContactOutcome.INFORMED, told, outset=True),
                contact(
                    VictimContactOutcome.NO_CONTACT, failed, "Moved away, no forwarding number"
                ),
            ]
        }
    )
    feed(view, [scheme, make_scheme(2)])
    assert cells(view, 1)[7] == "Attempt failed, 20 Nov (told 12 Nov)"
    assert cells(view, 2)[7] == "NOT informed"
    assert view.model.headerData(SchemeColumn.VICTIM, Qt.Orientation.Horizontal) == "Victim contact"
    select(qtbot, view, 1)
    view.start(SchemeAction.VICTIM)
    assert view.hint.text() == (
        "Last contact: Attempt failed 20 Nov 2026 18:05 (recorded by "
        "sue): Moved away, no forwarding number"
    )


def test_ending_without_notice_of_removal_needs_a_rationale(qtbot, view, commands):
    feed(
        view,
        [
            make_scheme(1).model_copy(update={"removal_notice": False}),
            make_scheme(2).model_copy(update={"removal_notice": True}),
        ],
    )
    select(qtbot, view, 1)
    key(qtbot, Qt.Key.Key_K, CTRL_SHIFT)
    assert view.override.isVisible() and "not been told" in view.hint.text()
    qtbot.keyClicks(view.text, "Perpetrator remanded")
    key(qtbot, Qt.Key.Key_Return)
    assert commands.calls == []
    assert (
        "Tell the victim the scheme is being removed, or record a failed attempt"
        in view.form_error.text()
    )
    view.override.setFocus()
    qtbot.keyClicks(view.override, "urgent")
    key(qtbot, Qt.Key.Key_Return)
    assert commands.calls == [] and "too short" in view.form_error.text()
    view.override.clear()
    why = "Victim died on 20 Nov; the family liaison officer confirmed nobody is left to tell"
    qtbot.keyClicks(view.override, why)
    key(qtbot, Qt.Key.Key_Return)
    [(name, (scheme, reason, override))] = commands.calls
    assert (name, scheme.id, reason, override) == ("end_scheme", 1, "Perpetrator remanded", why)
    # told (or a failed attempt recorded): no rationale asked for
    select(qtbot, view, 2)
    key(qtbot, Qt.Key.Key_K, CTRL_SHIFT)
    assert not view.override.isVisible()
    qtbot.keyClicks(view.text, "Victim rehoused out of force")
    key(qtbot, Qt.Key.Key_Return)
    assert commands.calls[-1] == (
        "end_scheme",
        (commands.calls[-1][1][0], "Victim rehoused out of force"),
    )


def test_second_stage_shows_halfway_to_a_near_expiry(qtbot, view, clock):
    # requested with 10 days to run: second stage after 5 days, not 14 (after expiry)
    feed(view, [make_scheme(1, expires_at=NOW + timedelta(days=10), review_requested_at=NOW)])
    assert cells(view, 1)[6] == "First-stage review requested"
    clock.advance(timedelta(days=5) - timedelta(seconds=1))
    view.refresh_now()
    assert cells(view, 1)[6] == "First-stage review requested"
    clock.advance(timedelta(seconds=1))
    with qtbot.waitSignal(view.model.dataChanged):
        view.refresh_now()
    assert cells(view, 1)[6] == "ESCALATED (second stage)"


def test_a_refused_end_opens_the_form_again_with_what_was_typed(qtbot, view, commands):
    from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand

    feed(view, [make_scheme(1).model_copy(update={"removal_notice": False})])
    select(qtbot, view, 1)
    key(qtbot, Qt.Key.Key_K, CTRL_SHIFT)
    qtbot.keyClicks(view.text, "Perpetrator remanded")
    why = "Victim died on 20 Nov; the family liaison officer confirmed nobody is left to tell"
    view.override.setText(why)
    key(qtbot, Qt.Key.Key_Return)
    assert view.form.isHidden()
    refused = PendingCommand(
        id="cmd-1",
        kind=CommandKind.END_SCHEME,
        incident_id=None,
        description="End scheme",
        created_at=NOW,
        state=CommandState.FAILED,
        message="The rationale for ending without telling the victim is almost the same as "
        "the reason special scheme 7 was ended on 2 Oct 2026 (93% similar).",
    )
    view.refusals.follow([refused])
    assert view.form.isVisible()
    assert (view.text.text(), view.override.text()) == ("Perpetrator remanded", why)
    assert "Refused by the server: The rationale for ending" in view.form_error.text()
