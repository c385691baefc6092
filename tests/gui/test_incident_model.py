"""IncidentTableModel: cells, countdown states, changes, pending flags."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import Divert, IncidentStatus
from dispatchdesk.domain.warnings import Severity, WarningRef
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.queue.model import (
    ACCESSIBLE_ROLE,
    COUNTDOWN_STATE_ROLE,
    INCIDENT_ROLE,
    SORT_ROLE,
    Column,
    IncidentTableModel,
)
from dispatchdesk.gui.warnings.flags import WarningMark
from tests.gui.factories import T0, make_incident, minutes


@pytest.fixture
def model(qapp, fake_clock):
    return IncidentTableModel(fake_clock.now)


def cell(model, row, col, role=Qt.ItemDataRole.DisplayRole):
    return model.data(model.index(row, col), role.value if hasattr(role, "value") else role)


def test_model_tester_after_reset_and_changes(qtmodeltester, model):
    model.set_incidents([make_incident(i) for i in range(1, 6)], DEFAULT_POLICY)
    qtmodeltester.check(model)
    model.apply_changes([make_incident(3, summary="x"), make_incident(9)], [1, 5])
    qtmodeltester.check(model)
    model.set_incidents([], DEFAULT_POLICY)
    qtmodeltester.check(model)


def test_countdown_on_track_at_risk_breached(model, fake_clock):
    model.set_incidents([make_incident(1, grade=Grade.IMMEDIATE)], DEFAULT_POLICY)
    col = Column.COUNTDOWN
    fake_clock.advance(minutes(1) + timedelta(seconds=55))
    assert cell(model, 0, col) == "13:05"
    assert cell(model, 0, col, COUNTDOWN_STATE_ROLE) is CountdownState.ON_TRACK
    # the last third of 15 minutes = last 5 minutes is at risk
    fake_clock.set(T0 + minutes(10) - timedelta(seconds=1))
    assert cell(model, 0, col, COUNTDOWN_STATE_ROLE) is CountdownState.ON_TRACK
    fake_clock.set(T0 + minutes(10))
    assert cell(model, 0, col) == "05:00"
    assert cell(model, 0, col, COUNTDOWN_STATE_ROLE) is CountdownState.AT_RISK
    assert "At risk" in cell(model, 0, col, Qt.ItemDataRole.ToolTipRole)
    fake_clock.set(T0 + minutes(15) + timedelta(hours=1, minutes=2, seconds=10))
    assert cell(model, 0, col) == "+1:02:10"
    assert cell(model, 0, col, COUNTDOWN_STATE_ROLE) is CountdownState.BREACHED
    assert "Breached" in cell(model, 0, col, Qt.ItemDataRole.ToolTipRole)


def test_countdown_state_has_icon_and_colour(model, fake_clock):
    model.set_incidents([make_incident(1)], DEFAULT_POLICY)
    on_track = cell(model, 0, Column.COUNTDOWN, Qt.ItemDataRole.DecorationRole)
    bg_on_track = cell(model, 0, Column.COUNTDOWN, Qt.ItemDataRole.BackgroundRole)
    fake_clock.advance(minutes(20))
    breached = cell(model, 0, Column.COUNTDOWN, Qt.ItemDataRole.DecorationRole)
    bg_breached = cell(model, 0, Column.COUNTDOWN, Qt.ItemDataRole.BackgroundRole)
    assert not on_track.isNull() and not breached.isNull()
    assert on_track.cacheKey() != breached.cacheKey()
    assert bg_on_track != bg_breached


def test_attended_stops_countdown(model, fake_clock):
    model.set_incidents([make_incident(1, attended_at=T0 + minutes(12))], DEFAULT_POLICY)
    fake_clock.advance(minutes(40))
    assert cell(model, 0, Column.COUNTDOWN, COUNTDOWN_STATE_ROLE) is CountdownState.ATTENDED
    assert cell(model, 0, Column.COUNTDOWN) == "Arrived, 03:00 to spare"


def test_sort_key_is_static(model, fake_clock):
    model.set_incidents([make_incident(1)], DEFAULT_POLICY)
    before = cell(model, 0, Column.COUNTDOWN, SORT_ROLE)
    fake_clock.advance(minutes(30))
    assert cell(model, 0, Column.COUNTDOWN, SORT_ROLE) == before


def test_incident_role(model):
    incident = make_incident(1)
    model.set_incidents([incident], DEFAULT_POLICY)
    assert cell(model, 0, Column.REF, INCIDENT_ROLE) is incident


def test_flags_downgraded_anonymous_pending(model):
    downgraded = make_incident(
        1,
        grade=Grade.SIGNIFICANT,
        original_grade=Grade.IMMEDIATE,
        downgrade_reason="Caller says suspect has left",
    )
    anon = make_incident(2)
    anon = anon.with_changes(caller=anon.caller.__class__(anonymous=True))
    model.set_incidents([downgraded, anon], DEFAULT_POLICY)
    r1, r2 = model.row_of(1), model.row_of(2)
    assert "downgraded" in cell(model, r1, Column.FLAGS)
    assert "suspect has left" in cell(model, r1, Column.FLAGS, Qt.ItemDataRole.ToolTipRole)
    assert "anonymous caller" in cell(model, r2, Column.FLAGS)
    command = PendingCommand(
        id="c1",
        kind=CommandKind.UPDATE_INCIDENT,
        incident_id=2,
        description="Regrade",
        created_at=T0,
        state=CommandState.SENT,
    )
    failed = PendingCommand(
        id="c2",
        kind=CommandKind.CLOSE_INCIDENT,
        incident_id=1,
        description="Close",
        created_at=T0,
        state=CommandState.FAILED,
        message="refused",
    )
    model.set_pending([command, failed])
    assert "pending" in cell(model, r2, Column.FLAGS)
    assert "failed" in cell(model, r1, Column.FLAGS)
    model.set_pending([])
    assert "pending" not in cell(model, r2, Column.FLAGS)


def test_apply_changes_insert_update_remove(qtbot, model):
    model.set_incidents([make_incident(i) for i in range(1, 6)], DEFAULT_POLICY)
    inserts, removes, changes = [], [], []
    model.rowsInserted.connect(lambda _p, a, b: inserts.append((a, b)))
    model.rowsRemoved.connect(lambda _p, a, b: removes.append((a, b)))
    model.dataChanged.connect(lambda a, b, _r=(): changes.append((a.row(), b.row())))
    model.apply_changes(
        [
            make_incident(2, summary="new"),
            make_incident(4, summary="new"),
            make_incident(10),
            make_incident(11),
            make_incident(12),
        ],
        [1, 5],
    )
    assert removes == [(4, 4), (0, 0)]  # highest first, so row numbers stay valid
    assert inserts == [(3, 3), (4, 4), (5, 5)]  # each at its place in urgency order
    assert changes == [(0, 0), (2, 2)]  # in place: only the updated rows
    assert [i.id for i in model.incidents()] == [2, 3, 4, 10, 11, 12]
    assert model.incident(4).summary == "new"
    assert model.row_of(10) == 3


def test_update_that_changes_urgency_moves_the_row(model):
    model.set_incidents([make_incident(i) for i in range(1, 6)], DEFAULT_POLICY)
    model.apply_changes([make_incident(1, grade=Grade.SIGNIFICANT)], [])
    assert [i.id for i in model.incidents()] == [2, 3, 4, 5, 1]
    assert all(model.row_of(i.id) == r for r, i in enumerate(model.incidents()))


def test_rows_of_equal_urgency_kept_and_found_by_id(qtmodeltester, model):
    """Every grade R incident (no deadline) has the same urgency: among them rows go by id,
    and each is found, moved and removed by it (the urgencies are held in an array)."""
    ids = [17, 3, 40, 8, 25, 1, 33, 12, 30, 5]
    model.set_incidents(
        [make_incident(i, grade=Grade.REFERRED) for i in ids]
        + [make_incident(i, grade=Grade.IMMEDIATE) for i in (2, 9)],
        DEFAULT_POLICY,
    )
    assert [i.id for i in model.incidents()] == [2, 9, 1, 3, 5, 8, 12, 17, 25, 30, 33, 40]
    model.apply_changes(
        [
            make_incident(4, grade=Grade.REFERRED),  # new, among the equals
            make_incident(12, grade=Grade.REFERRED, summary="updated in place"),
            make_incident(30, grade=Grade.IMMEDIATE),  # out of the equals
            make_incident(9, grade=Grade.REFERRED),  # into them
            make_incident(50, grade=Grade.REFERRED),  # new, after them all
        ],
        [1, 33],
    )
    assert [i.id for i in model.incidents()] == [2, 30, 3, 4, 5, 8, 9, 12, 17, 25, 40, 50]
    assert all(model.row_of(i.id) == r for r, i in enumerate(model.incidents()))
    assert model.incident(12) is not None and model.incident(12).summary == "updated in place"
    keys = [cell(model, r, Column.COUNTDOWN, SORT_ROLE) for r in range(model.rowCount())]
    assert keys == sorted(keys)
    qtmodeltester.check(model)


def test_rows_stored_most_urgent_first(model):
    model.set_incidents(
        [make_incident(1, grade=Grade.SIGNIFICANT), make_incident(2, grade=Grade.IMMEDIATE)],
        DEFAULT_POLICY,
    )
    assert [i.id for i in model.incidents()] == [2, 1]


def test_scattered_updates_never_span_unchanged_rows(model):
    # One dataChanged spanning scattered rows makes the proxy re-check every row between.
    model.set_incidents([make_incident(i) for i in range(1, 101)], DEFAULT_POLICY)
    changes = []
    model.dataChanged.connect(lambda a, b, _r=(): changes.append((a.row(), b.row())))
    model.apply_changes([make_incident(i, summary="x") for i in (1, 3, 50, 99, 100)], [])
    assert changes == [(0, 0), (2, 2), (49, 49), (98, 98), (99, 99)]


def test_remove_contiguous_range(model):
    model.set_incidents([make_incident(i) for i in range(1, 11)], DEFAULT_POLICY)
    removes = []
    model.rowsRemoved.connect(lambda _p, a, b: removes.append((a, b)))
    model.apply_changes([], [3, 4, 5, 8])
    assert removes == [(7, 7), (2, 4)]
    assert [i.id for i in model.incidents()] == [1, 2, 6, 7, 9, 10]


def test_times_shown_in_policy_time_zone(model):
    from dispatchdesk.domain.grades import GradePolicy

    model.set_incidents([make_incident(1)], GradePolicy(timezone="Asia/Tokyo"))
    assert cell(model, 0, Column.CREATED) == "23/11 18:00"
    assert cell(model, 0, Column.DEADLINE) == "23/11 18:15"


def _divert(from_id: int) -> Divert:
    return Divert(
        id=1,
        unit_id=7,
        callsign="LX21",
        from_incident_id=from_id,
        from_ref=f"CAD {from_id}/23NOV26",
        to_incident_id=99,
        to_ref="CAD 99/23NOV26",
        by="disp1",
        at=T0 + minutes(5),
        reason="Robbery in progress, grade I",
    )


def test_owed_incident_with_no_unit_tops_the_queue_and_says_divert(qtmodeltester, model):
    """The 2018 case: an S domestic left owed sits above every I incident until a unit is on
    it, and says DIVERT in words (plus an icon and colour)."""
    immediate = [
        make_incident(i, grade=Grade.IMMEDIATE, created_at=T0 + minutes(i)) for i in (1, 2)
    ]
    domestic = make_incident(3, grade=Grade.SIGNIFICANT, created_at=T0 - minutes(30))
    model.set_incidents([*immediate, domestic], DEFAULT_POLICY)
    assert model.incident_at(2).id == 3
    owed = domestic.with_changes(owed=True, diverts=(_divert(3),), version=2)
    model.apply_changes([owed], [])
    qtmodeltester.check(model)
    assert model.incident_at(0).id == 3
    assert cell(model, 0, Column.FLAGS) == "DIVERT: NO UNIT"
    assert cell(model, 0, Column.FLAGS, Qt.ItemDataRole.DecorationRole) is not None
    tip = cell(model, 0, Column.FLAGS, Qt.ItemDataRole.ToolTipRole)
    assert "LX21 to CAD 99/23NOV26 by disp1" in tip and "reallocate" in tip
    escalated = owed.with_changes(escalated_at=T0 + minutes(15), version=3)
    model.apply_changes([escalated], [])
    assert cell(model, 0, Column.FLAGS) == "DIVERT: ESCALATED, NO UNIT"
    # a unit on its way: still owed (DIVERT), back among the others by deadline
    assigned = escalated.with_changes(status=IncidentStatus.ASSIGNED, escalated_at=None, version=4)
    model.apply_changes([assigned], [])
    row = model.row_of(3)
    assert row is not None and row > 0 and cell(model, row, Column.FLAGS) == "DIVERT"


def test_warning_flags_per_kind_until_and_after_acknowledgement(qtmodeltester, model):
    model.set_incidents([make_incident(1), make_incident(2)], DEFAULT_POLICY)
    marks = {
        1: (
            WarningMark(WarningRef("scheme", 5), Severity.CRITICAL, False),
            WarningMark(WarningRef("order", 8), Severity.HEIGHTENED, False),
        )
    }
    model.set_warning_marks(lambda iid: marks.get(iid, ()))
    row = model.row_of(1)
    assert cell(model, row, Column.FLAGS) == "⚠ SCHEME CRITICAL · ⚠ ORDER HEIGHTENED"
    assert "NOT yet acknowledged" in cell(model, row, Column.FLAGS, Qt.ItemDataRole.ToolTipRole)
    assert cell(model, model.row_of(2), Column.FLAGS) == ""
    marks[1] = (WarningMark(WarningRef("scheme", 5), Severity.CRITICAL, True), marks[1][1])
    model.warnings_changed([1])
    assert cell(model, row, Column.FLAGS) == "Scheme ✓ CRITICAL · ⚠ ORDER HEIGHTENED"
    qtmodeltester.check(model)


def _order_mark(severity, acknowledged=False):
    return (WarningMark(WarningRef("order", 8), severity, acknowledged),)


@pytest.mark.parametrize("theme", ["normal", "high-contrast"])
def test_a_critical_order_does_not_look_like_an_informational_one(qtmodeltester, model, theme):
    """Issue 9 item 10: severity in words, in colour and in the icon's shape, in both themes;
    the most severe sorts first."""
    model.set_theme(theme)
    model.set_incidents([make_incident(i) for i in (1, 2, 3, 4)], DEFAULT_POLICY)
    marks = {
        1: _order_mark(Severity.CRITICAL),
        2: _order_mark(Severity.HEIGHTENED),
        3: _order_mark(Severity.INFO),
        4: _order_mark(Severity.CRITICAL, True),
    }
    model.set_warning_marks(lambda iid: marks.get(iid, ()))
    qtmodeltester.check(model)

    def of(iid, role=Qt.ItemDataRole.DisplayRole):
        return cell(model, model.row_of(iid), Column.FLAGS, role)

    assert [of(i) for i in (1, 2, 3, 4)] == [
        "⚠ ORDER CRITICAL",
        "⚠ ORDER HEIGHTENED",
        "⚠ Order (info)",
        "Order ✓ CRITICAL",
    ]
    colours = [of(i, Qt.ItemDataRole.ForegroundRole) for i in (1, 2, 3)]
    assert len({c.name() for c in colours}) == 3  # three severities, three colours
    assert colours[0] == icons.severity_colour(Severity.CRITICAL, theme)
    assert of(4, Qt.ItemDataRole.ForegroundRole) is None  # acknowledged: plain text
    images = [of(i, Qt.ItemDataRole.DecorationRole).pixmap(18, 16).toImage() for i in (1, 2, 3)]
    assert len({bytes(img.constBits()) for img in images}) == 3  # three different icons
    # The shape differs too, not only the colour: the marks' outlines differ in grey.
    grey = [img.convertToFormat(img.Format.Format_Alpha8) for img in images]
    assert len({bytes(g.constBits()) for g in grey}) == 3
    tip = of(1, Qt.ItemDataRole.ToolTipRole)
    assert "Critical order warning #8: NOT yet acknowledged" in tip
    assert "ORDER CRITICAL" in of(1, ACCESSIBLE_ROLE)
    keys = [of(i, SORT_ROLE) for i in (1, 2, 3, 4)]
    assert keys[0] > keys[1] > keys[2] and keys[0] > keys[3]
