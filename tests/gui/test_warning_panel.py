"""WarningPanel: pops (taking the keyboard only when asked), says why each warning matched,
acknowledges by keyboard, counts what is left, keeps acknowledged warnings listed and in sight,
and follows live changes.

The builders here (``make_scheme``, ``make_order``, ``HOME``...) are reused by the schemes view
and new-incident tests; the warning lists come from the reference matcher ``find_warnings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.warnings import (
    OrderType,
    Person,
    Place,
    ReviewState,
    SchemeCategory,
    WarningPolicy,
    WarningRef,
)
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.warnings.panel import WarningPanel
from dispatchdesk.gui.warnings.texts import warning_ref, why_matched
from dispatchdesk.protocol.warnings import (
    OrderOut,
    PersonModel,
    PlaceModel,
    SchemeOut,
    WarningOut,
    find_warnings,
)

NOW = datetime(2026, 11, 23, 14, 2, tzinfo=UTC)  # London is on GMT in November
HOME = PlaceModel(address="10 High Street, London", postcode="NW1 7AA", uprn="100023", usrn="20001")
BLOCK = PlaceModel(
    address="Cedar Court, 14 Mare Street, London",
    postcode="E8 1HR",
    uprn="100021000280",
    usrn="21000300",
)
FLAT_3 = Place(
    address="Flat 3, Cedar Court, 14 Mare Street, London",
    postcode="E8 1HR",
    uprn="100021000283",
    parent_uprn="100021000280",
    usrn="21000300",
)


def make_scheme(
    sid: int = 1,
    location: PlaceModel = HOME,
    *,
    category: SchemeCategory = SchemeCategory.VICTIM_AT_RISK,
    starts_at: datetime = NOW - timedelta(days=30),
    expires_at: datetime = NOW + timedelta(days=90),
    extended_at: datetime | None = None,
    review_requested_at: datetime | None = None,
    victim_informed_at: datetime | None = None,
) -> SchemeOut:
    return SchemeOut(
        id=sid,
        version=1,
        location=location,
        category=category,
        summary=f"DA victim lives here (scheme {sid})",
        officer_in_case="DC Patel",
        starts_at=starts_at,
        expires_at=expires_at,
        extended_at=extended_at,
        review_state=ReviewState.ACTIVE,
        review_requested_at=review_requested_at,
        victim_informed_at=victim_informed_at,
    )


def make_order(
    oid: int = 7,
    *,
    locations: Sequence[PlaceModel] = (HOME,),
    subject: str = "John SMITH",
    protected: Sequence[PersonModel] = (),
    expires_on: date | None = date(2026, 11, 24),
) -> OrderOut:
    return OrderOut(
        id=oid,
        version=1,
        order_type=OrderType.NON_MOLESTATION,
        subject=PersonModel(name=subject, dob=date(1980, 2, 1)),
        protected_persons=list(protected),
        locations=list(locations),
        conditions="Not to attend 10 High Street.",
        issued_on=date(2026, 5, 24),
        expires_on=expires_on,
        source_ref=f"FAM/{oid}",
    )


def warnings_at(
    place: Place,
    schemes: Sequence[SchemeOut] = (),
    orders: Sequence[OrderOut] = (),
    who: Person | None = None,
) -> list[WarningOut]:
    return find_warnings(list(schemes), list(orders), place, who, NOW)


HOME_PLACE = Place(uprn="100023", address="10 High Street", postcode="NW1 7AA")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def host(qtbot):
    """The window the panel belongs to (the queue window in the desk)."""
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def panel(qtbot, clock, host):
    p = WarningPanel(clock.now, parent=host)
    return p


def popped(qtbot, panel, warnings, incident_id=12, acknowledged=()):
    """Shown as when the operator asks (opening the incident, Ctrl+W): it takes the keyboard."""
    with qtbot.waitSignal(panel.shown) as blocker:
        panel.show_for(
            "CAD 12/23NOV26, 10 High St", incident_id, warnings, acknowledged, take_focus=True
        )
    qtbot.waitExposed(panel)
    qtbot.waitUntil(
        lambda: panel.focused_card() is not None or QApplication.focusWidget() is panel.hide_button
    )
    return blocker.args


def flush_events(qtbot, turns=3):
    """Let the event loop go round a few times (posted and window-system events delivered)."""
    done: list[int] = []
    for n in range(turns):
        QTimer.singleShot(0, lambda n=n: done.append(n))
        qtbot.waitUntil(lambda n=n: n in done)


def ctrl_enter(qtbot):
    qtbot.keyClick(
        QApplication.focusWidget(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
    )


def test_pops_up_most_severe_first_with_title_badges_and_why(qtbot, panel):
    found = warnings_at(HOME_PLACE, [make_scheme(1)], [make_order(7)])
    args = popped(qtbot, panel, found)
    # Both critical, both exact: the order first (the matcher's order is kept).
    assert args == [12, [WarningRef("order", 7), WarningRef("scheme", 1)]]
    assert panel.windowTitle() == "WARNINGS — CAD 12/23NOV26, 10 High St"
    assert panel.isVisible() and panel.isActiveWindow()
    assert panel.windowFlags() & Qt.WindowType.Tool
    assert not panel.isModal()
    assert [c.ref for c in panel.cards] == [warning_ref(w) for w in found]
    order_card, scheme_card = panel.cards
    assert scheme_card.badge.text() == "CRITICAL" and order_card.badge.text() == "CRITICAL"
    assert scheme_card.kind.text() == "Special scheme — Victim at risk"
    assert order_card.kind.text() == "Protective order — Non-molestation order"
    assert scheme_card.why.text() == "Matched: exact address (UPRN)"
    assert order_card.why.text() == (
        "Matched: exact address (UPRN) — an address named in the order"
    )
    assert order_card.expiry.text() == "Expires TOMORROW 24 Nov"
    assert "expires TOMORROW 24 Nov" in order_card.text.text()
    assert scheme_card.expiry.text() == (
        "Expires 21 Feb 2027 14:02 (in 90 days) · Officer in case: DC Patel"
    )
    assert not scheme_card.icon.pixmap().isNull()
    assert panel.frame.property("severity") == "critical"
    assert panel.heading.text().startswith("CRITICAL — 2 WARNINGS")
    assert panel.count.text() == "2 of 2 not yet acknowledged"
    assert panel.focused_card() is order_card


def test_why_matched_wording_for_every_match_kind():
    flat_scheme = make_scheme(2, BLOCK)
    [block_marker] = warnings_at(FLAT_3, [flat_scheme])
    assert why_matched(block_marker) == "Matched: the block this flat is in"
    flat_1 = PlaceModel(
        address="Flat 1, Cedar Court, 14 Mare Street, London",
        postcode="E8 1HR",
        uprn="100021000281",
        parent_uprn="100021000280",
        usrn="21000300",
    )
    [other_flat] = warnings_at(FLAT_3, [make_scheme(3, flat_1)])
    assert why_matched(other_flat) == "Matched: POSSIBLE MATCH: another flat in the same block"
    block_place = Place(uprn="100021000280", address=BLOCK.address)
    [child] = warnings_at(block_place, [make_scheme(4, flat_1)])
    assert why_matched(child) == "Matched: a flat in this block"
    typo = Place(address="10 High Stret, London", postcode="NW1 7AA")
    [similar] = warnings_at(typo, [make_scheme(5)])
    assert why_matched(similar) == "Matched: POSSIBLE MATCH: similar address"
    # The same address written out, no UPRN to go by: exact, not "POSSIBLE MATCH" (issue 15).
    same = Place(address="10 High Street, London", postcode="NW1 7AA")
    [exact] = warnings_at(same, [make_scheme(6)])
    assert not exact.possible
    assert why_matched(exact) == ("Matched: exact address (same flat, house, street and postcode)")
    [by_name] = warnings_at(
        Place(address="1 Elsewhere Road"), orders=[make_order(8)], who=Person("john smith")
    )
    assert why_matched(by_name) == (
        "Matched: POSSIBLE MATCH: same name — the person the order is against"
    )
    [by_dob] = warnings_at(
        Place(address="1 Elsewhere Road"),
        orders=[make_order(9)],
        who=Person("SMITH, John", date(1980, 2, 1)),
    )
    assert why_matched(by_dob) == (
        "Matched: person: name and date of birth — the person the order is against"
    )


def test_tab_moves_between_warnings_and_keys_acknowledge(qtbot, panel, clock):
    found = warnings_at(HOME_PLACE, [make_scheme(1)], [make_order(7), make_order(8)])
    popped(qtbot, panel, found)
    first, second, third = panel.cards
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert panel.focused_card() is second
    with qtbot.waitSignal(panel.acknowledged) as blocker:
        ctrl_enter(qtbot)
    assert blocker.args == [12, second.ref]
    assert second.status.text() == "Acknowledged 14:02 by you"
    assert second.is_acknowledged and second.isVisible()  # stays listed
    assert panel.count.text() == "2 of 3 not yet acknowledged"
    assert panel.focused_card() is third  # on to the next one not yet acknowledged
    clock.advance(timedelta(minutes=3))
    with qtbot.waitSignal(panel.acknowledged) as blocker:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    assert blocker.args == [12, third.ref]
    assert third.status.text() == "Acknowledged 14:05 by you"
    assert panel.focused_card() is first
    assert first.status.text() == "NOT YET ACKNOWLEDGED"
    first.ack_button.click()
    assert panel.count.text() == "All 3 acknowledged"
    assert QApplication.focusWidget() is panel.hide_button


def test_escape_goes_back_and_an_unacknowledged_warning_stays_in_sight(qtbot, panel, host):
    popped(qtbot, panel, warnings_at(HOME_PLACE, [make_scheme(1)]))
    assert panel.isActiveWindow() and not host.isActiveWindow()
    with qtbot.assertNotEmitted(panel.acknowledged):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    qtbot.waitUntil(host.isActiveWindow)  # back where the operator was
    assert panel.isVisible()  # but the warning is still in sight
    assert panel.unacknowledged() == [WarningRef("scheme", 1)]
    panel.close()  # nor does the window's close button hide it
    assert panel.isVisible()
    assert panel.hide_button.text() == "Back (Esc)"
    panel.hide_button.click()  # only goes back too
    assert panel.isVisible()
    panel.focus_warnings()
    qtbot.waitUntil(lambda: panel.focused_card() is panel.cards[0])
    ctrl_enter(qtbot)
    assert QApplication.focusWidget() is panel.hide_button
    assert panel.hide_button.text() == "Hide (Esc)"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)  # all acknowledged: hides
    assert not panel.isVisible()
    qtbot.waitUntil(host.isActiveWindow)


def test_showing_never_takes_the_keyboard_from_a_field_being_typed_in(qtbot, panel, host):
    """A warning arriving (a live change, an incident opened elsewhere) while the operator
    types: every keystroke stays in the field; Ctrl+W-style focus_warnings is the way in."""
    edit = QLineEdit(host)
    edit.show()
    host.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is edit)
    typed = "10 High Street"
    for n, char in enumerate(typed):
        if n == 3:
            panel.show_for(
                "CAD 12/23NOV26, 10 High St", 12, warnings_at(HOME_PLACE, [make_scheme(1)])
            )
            qtbot.waitUntil(panel.isVisible)
            flush_events(qtbot)  # whatever the window system does on showing has happened
            assert host.isActiveWindow()  # given straight back if the system took it
        qtbot.keyClick(QApplication.focusWidget(), char)
        assert QApplication.focusWidget() is edit
    assert edit.text() == typed
    assert panel.isVisible() and panel.unacknowledged() == [WarningRef("scheme", 1)]
    assert panel.focus_warnings()
    qtbot.waitUntil(lambda: panel.focused_card() is panel.cards[0])
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is edit)  # back to the field left
    assert panel.isVisible()


def test_a_newly_shown_critical_warning_sounds_once(qtbot, clock, host):
    played: list[str] = []
    panel = WarningPanel(clock.now, parent=host, play_sound=played.append)
    panel.show_for("x", 12, warnings_at(HOME_PLACE, [make_scheme(1)]))
    assert played == ["breach"]
    panel.update_warnings(warnings_at(HOME_PLACE, [make_scheme(1)]))  # nothing new
    assert played == ["breach"]
    info = make_order(9, expires_on=None)  # until further order: info
    panel.update_warnings(warnings_at(HOME_PLACE, [make_scheme(1)], [info]))
    assert played == ["breach"]  # a new info warning shows without a sound
    panel.update_warnings(warnings_at(HOME_PLACE, [make_scheme(1)], [info, make_order(7)]))
    assert played == ["breach", "breach"]  # a new critical one sounds


def test_already_acknowledged_are_marked_and_shown_again_on_a_new_showing(qtbot, panel):
    found = warnings_at(HOME_PLACE, [make_scheme(1)], [make_order(7)])
    popped(qtbot, panel, found, acknowledged={WarningRef("order", 7)})
    order_card = panel.cards[0]
    assert order_card.ref == WarningRef("order", 7)
    assert order_card.status.text() == "Acknowledged"
    assert not order_card.ack_button.isVisible()
    assert panel.focused_card() is panel.cards[1]  # the first one still to acknowledge
    assert panel.count.text() == "1 of 2 not yet acknowledged"
    panel.hide()
    args = popped(qtbot, panel, found)  # opened again later: shown (and audited) again
    assert args[1] == [WarningRef("order", 7), WarningRef("scheme", 1)]


def test_showing_again_while_open_emits_only_new_ones(qtbot, panel):
    popped(qtbot, panel, warnings_at(HOME_PLACE, [make_scheme(1)]))
    with qtbot.assertNotEmitted(panel.shown):
        panel.show_for(
            "CAD 12/23NOV26, 10 High St", 12, warnings_at(HOME_PLACE, [make_scheme(1)]), ()
        )
    assert panel.isVisible()


def test_live_changes_remove_expired_and_pop_for_new(qtbot, panel, clock):
    soon = make_scheme(1, expires_at=NOW + timedelta(minutes=5))
    popped(qtbot, panel, warnings_at(HOME_PLACE, [soon], [make_order(7)]))
    panel.acknowledge(WarningRef("order", 7))
    clock.advance(timedelta(minutes=6))
    with qtbot.assertNotEmitted(panel.shown):
        panel.update_warnings(find_warnings([soon], [make_order(7)], HOME_PLACE, None, clock.now()))
    assert panel.refs() == [WarningRef("order", 7)]  # the expired scheme is gone
    assert panel.count.text() == "All 1 acknowledged"
    assert panel.cards[0].status.text() == "Acknowledged 14:02 by you"
    new = make_scheme(2, category=SchemeCategory.OFFICER_SAFETY)
    found = find_warnings([new], [make_order(7)], HOME_PLACE, None, clock.now())
    with qtbot.waitSignal(panel.shown) as blocker:
        panel.update_warnings(found)
    assert blocker.args == [12, [WarningRef("scheme", 2)]]  # only the one newly displayed
    assert panel.cards[1].kind.text() == "Special scheme — Officer safety"
    assert panel.count.text() == "1 of 2 not yet acknowledged"
    panel.hide()  # hidden (by its owner): the same warnings again do not pop it
    with qtbot.assertNotEmitted(panel.shown):
        panel.update_warnings(found)
    assert not panel.isVisible()
    # Then another scheme: everything is displayed (and reported) again.
    newer = make_scheme(3)
    with qtbot.waitSignal(panel.shown) as blocker:
        panel.update_warnings(
            find_warnings([new, newer], [make_order(7)], HOME_PLACE, None, clock.now())
        )
    assert blocker.args[1] == [
        WarningRef("order", 7),
        WarningRef("scheme", 2),
        WarningRef("scheme", 3),
    ]
    qtbot.waitUntil(panel.isVisible)


def test_no_warnings_hides(qtbot, panel):
    popped(qtbot, panel, warnings_at(HOME_PLACE, [make_scheme(1)]))
    panel.update_warnings([])
    assert not panel.isVisible()
    with qtbot.assertNotEmitted(panel.shown):
        panel.show_for("x", 3, [], ())
    assert not panel.isVisible()


def test_possible_match_and_info_severity_are_written_out(qtbot, panel):
    far = make_order(9, expires_on=date(2027, 6, 1))
    found = warnings_at(Place(address="1 Elsewhere Road"), orders=[far], who=Person("J Smith"))
    assert found == []  # different name: no match at all
    found = warnings_at(Place(address="1 Elsewhere Road"), orders=[far], who=Person("John Smith"))
    popped(qtbot, panel, found, incident_id=None)
    card = panel.cards[0]
    assert card.badge.text() == "INFO" and panel.frame.property("severity") == "info"
    assert card.why.text().startswith("Matched: POSSIBLE MATCH: same name")
    assert card.expiry.text() == "Expires 1 Jun 2027"
    assert "Against: John SMITH (born 01/02/1980)" in card.details.text()
    assert "POSSIBLE MATCH" in card.accessibleDescription()


def test_warning_icons_are_drawn(qapp):
    for icon in (
        icons.scheme_warning(),
        icons.order_warning(),
        icons.divert(),
        icons.unit(),
        icons.acknowledged(),
    ):
        assert not icon.isNull() and not icon.pixmap(16, 16).isNull()


def test_policy_time_zone_is_used_for_times(qtbot, panel):
    popped(qtbot, panel, warnings_at(HOME_PLACE, [make_scheme(1)]))
    panel.set_policy(WarningPolicy(timezone="Asia/Tokyo"))
    assert panel.cards[0].expiry.text().startswith("Expires 21 Feb 2027 23:02")
    panel.acknowledge(panel.cards[0].ref)
    assert panel.cards[0].status.text() == "Acknowledged 23:02 by you"
