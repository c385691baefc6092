"""The schemes view fed by difference: a change to one scheme touches only its row (counted
signals), removal and expiry remove only theirs, an order's change touches none, a big index is
read a slice at a time without losing what changed meanwhile, and the order and filter counts
stay what a full rebuild would give, with the model tester watching every signal."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication

from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.warnings import DEFAULT_WARNING_POLICY, scheme_review_state
from dispatchdesk.gui.warnings import schemes_model
from dispatchdesk.gui.warnings.scheme_rows import SchemeFilter, sort_key
from dispatchdesk.gui.warnings.schemes_model import SchemeColumn, SchemesTableModel
from dispatchdesk.gui.warnings.schemes_view import SchemeAction, SchemesView
from tests.gui.test_warning_panel import NOW, make_order, make_scheme

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
WINDOW = DEFAULT_WARNING_POLICY.review_window


def some_schemes(n: int = 12):
    return [make_scheme(i, expires_at=NOW + timedelta(days=40 + i)) for i in range(1, n + 1)]


@pytest.fixture
def clock():
    return FakeClock(NOW)


@pytest.fixture
def index():
    index = WarningIndex()
    index.replace(some_schemes(), [make_order(7)])
    return index


class Signals:
    """Every change signal a model emits, as (name, first row, last row)."""

    def __init__(self, model: SchemesTableModel) -> None:
        self.seen: list[tuple[str, int, int]] = []
        model.dataChanged.connect(lambda a, b, *_: self.seen.append(("data", a.row(), b.row())))
        model.rowsInserted.connect(lambda _p, a, b: self.seen.append(("insert", a, b)))
        model.rowsRemoved.connect(lambda _p, a, b: self.seen.append(("remove", a, b)))
        model.rowsMoved.connect(lambda _p, a, b, *_: self.seen.append(("move", a, b)))
        model.modelReset.connect(lambda: self.seen.append(("reset", -1, -1)))
        model.layoutChanged.connect(lambda *_: self.seen.append(("layout", -1, -1)))


def ids_shown(model: SchemesTableModel) -> list[int]:
    return [model.scheme_id(r) for r in range(model.rowCount())]


def expected_order(index: WarningIndex, model: SchemesTableModel, now, column, descending):
    rows = []
    for sid in index.live_scheme_ids(now):
        s = index.scheme(sid)
        state = scheme_review_state(s.expires_at, s.review_requested_at, now, model.policy)
        if model.filter.accepts(state, s.victim_informed_at is not None):
            rows.append(sid)
    model_rows = {model.scheme_id(r): r for r in range(model.rowCount())}
    by_id = model._by_id  # the rows as built: compare the order, not the key function
    assert set(rows) == set(model_rows)
    return sorted(rows, key=lambda sid: sort_key(by_id[sid], column), reverse=descending)


def test_one_scheme_changed_touches_only_its_row(qtmodeltester, clock, index):
    model = SchemesTableModel(clock.now)
    model.show(index)
    qtmodeltester.check(model)
    signals = Signals(model)
    row = ids_shown(model).index(5)
    index.upsert_scheme(some_schemes()[4].model_copy(update={"version": 2, "summary": "moved"}))
    model.show(index)
    assert signals.seen == [("data", row, row)]
    assert model.index(row, SchemeColumn.SUMMARY).data() == "moved"


def test_an_order_changed_touches_no_scheme_row(qtmodeltester, clock, index):
    model = SchemesTableModel(clock.now)
    model.show(index)
    qtmodeltester.check(model)
    signals = Signals(model)
    index.upsert_order(make_order(7).model_copy(update={"version": 2, "conditions": "new"}))
    index.remove_order(7)
    model.show(index)
    assert signals.seen == []


def test_removal_and_expiry_remove_only_their_rows(qtmodeltester, clock, index):
    index.upsert_scheme(make_scheme(40, expires_at=NOW + timedelta(seconds=30)))
    model = SchemesTableModel(clock.now)
    model.show(index)
    qtmodeltester.check(model)
    assert ids_shown(model)[0] == 40  # soonest expiry first
    signals = Signals(model)
    row = ids_shown(model).index(3)
    index.remove_scheme(3)  # ended
    model.show(index)
    assert signals.seen == [("remove", row, row)] and not model.has(3)
    signals.seen.clear()
    clock.advance(timedelta(seconds=29))
    model.refresh_now()
    assert signals.seen == []  # nothing due: no work at all
    clock.advance(timedelta(seconds=1))
    model.refresh_now()  # expired: gone at once, before the engine purges it
    assert signals.seen == [("remove", 0, 0)] and not model.has(40)
    assert model.count(SchemeFilter.ALL) == 11  # 12 + 1, less the two


def test_an_expiry_changed_moves_only_its_row_and_the_selection_follows(
    qtbot, clock, index, commands
):
    view = SchemesView(commands, clock.now)
    qtbot.addWidget(view)
    view.show_index(index)
    signals = Signals(view.model)
    assert view.select_scheme(2)
    later = make_scheme(2, expires_at=NOW + timedelta(days=100)).model_copy(update={"version": 2})
    index.upsert_scheme(later)
    view.show_index(index)
    assert [s[0] for s in signals.seen] == ["move", "data"]
    assert ids_shown(view.model) == [1, *range(3, 13), 2]
    assert view.selected_id() == 2 and view.selected() == later


def test_a_supervisor_acts_on_the_latest_version_after_a_change(qtbot, clock, index, commands):
    view = SchemesView(commands, clock.now)
    qtbot.addWidget(view)
    view.show_index(index)
    view.resize(1200, 600)
    view.show()
    qtbot.waitExposed(view)
    assert view.select_scheme(4)
    view.table.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.table)
    qtbot.keyClick(view.table, Qt.Key.Key_K, CTRL_SHIFT)  # End…, form open
    assert view.form.isVisible()
    told = make_scheme(4, expires_at=NOW + timedelta(days=44), victim_informed_at=NOW)
    index.upsert_scheme(told.model_copy(update={"version": 3, "removal_notice": True}))
    view.show_index(index)
    assert view.form.isVisible()  # still the same scheme: the form stays
    qtbot.keyClicks(view.text, "Victim rehoused out of force")
    qtbot.keyClick(view.text, Qt.Key.Key_Return)
    [(name, (scheme, reason))] = commands.calls
    assert (name, scheme.id, scheme.version, reason) == (
        "end_scheme",
        4,
        3,
        "Victim rehoused out of force",
    )
    # the scheme ends (the server's change arrives): its row goes, the selection with it
    index.remove_scheme(4)
    view.show_index(index)
    assert not view.model.has(4) and view.selected_id() != 4


def test_a_filtered_view_takes_rows_in_and_out_and_keeps_its_counts(qtmodeltester, clock, index):
    model = SchemesTableModel(clock.now)
    model.show(index)
    model.set_filter(SchemeFilter.DUE)
    qtmodeltester.check(model)
    assert model.rowCount() == 0
    soon = make_scheme(6, expires_at=NOW + WINDOW - timedelta(days=1)).model_copy(
        update={"version": 2}
    )
    index.upsert_scheme(soon)  # now within its review window
    model.show(index)
    assert ids_shown(model) == [6]
    assert model.count(SchemeFilter.DUE) == 1 and model.count(SchemeFilter.ALL) == 12
    index.upsert_scheme(some_schemes()[5].model_copy(update={"version": 3}))  # extended
    model.show(index)
    assert model.rowCount() == 0 and model.count(SchemeFilter.DUE) == 0


@pytest.mark.parametrize(
    ("column", "descending"),
    [
        (SchemeColumn.EXPIRES, False),
        (SchemeColumn.EXPIRES, True),
        (SchemeColumn.ADDRESS, False),
        (SchemeColumn.REVIEW, True),
        (SchemeColumn.VICTIM, False),
    ],
)
def test_many_random_changes_keep_the_order_a_full_rebuild_gives(
    qtmodeltester, clock, column, descending
):
    rng = random.Random(int(column) * 2 + descending)
    index = WarningIndex()
    index.replace(some_schemes(30), [])
    model = SchemesTableModel(clock.now)
    model.show(index)
    order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
    model.sort(column, order)
    qtmodeltester.check(model)
    for step in range(200):
        sid = rng.randint(1, 40)
        if rng.random() < 0.2:
            index.remove_scheme(sid)
        else:
            scheme = make_scheme(
                sid,
                expires_at=NOW + timedelta(days=rng.choice((1, 5, 20, 60)), hours=step),
                review_requested_at=rng.choice((None, NOW - timedelta(days=rng.randint(0, 20)))),
                victim_informed_at=rng.choice((None, NOW - timedelta(days=rng.randint(1, 9)))),
            ).model_copy(update={"version": step + 2, "summary": rng.choice("abc")})
            index.upsert_scheme(scheme)
        if rng.random() < 0.1:
            model.set_filter(rng.choice(list(SchemeFilter)))
        if rng.random() < 0.3:
            clock.advance(timedelta(hours=rng.randint(1, 30)))
            model.refresh_now()
        model.show(index)
        now = clock.now()
        assert ids_shown(model) == expected_order(index, model, now, column, descending)
        counts = {f: 0 for f in SchemeFilter}
        for s in (index.scheme(i) for i in index.live_scheme_ids(now)):
            state = scheme_review_state(s.expires_at, s.review_requested_at, now, model.policy)
            for f in SchemeFilter:
                counts[f] += f.accepts(state, s.victim_informed_at is not None)
        assert {f: model.count(f) for f in SchemeFilter} == counts


def test_a_big_index_is_read_in_slices_and_catches_up(qtbot, qtmodeltester, clock, monkeypatch):
    monkeypatch.setattr(schemes_model, "SYNC_FILL", 5)
    monkeypatch.setattr(schemes_model, "FILL_SLICE_SECONDS", 0.0)  # 64 schemes a slice
    index = WarningIndex()
    index.replace([make_scheme(i, expires_at=NOW + timedelta(hours=i)) for i in range(1, 301)], [])
    model = SchemesTableModel(clock.now)
    qtmodeltester.check(model)
    progress: list[tuple[int, int]] = []
    model.fill_progress.connect(lambda done, total: progress.append((done, total)))
    model.show(index)
    assert model.filling and model.rowCount() == 0  # nothing shown until it is all read
    index.remove_scheme(1)  # meanwhile
    index.upsert_scheme(make_scheme(999, expires_at=NOW + timedelta(minutes=5)))
    model.show(index)  # while reading: caught up at the end
    qtbot.waitUntil(lambda: not model.filling)
    assert progress[0] == (0, 300) and progress[-1] == (300, 300) and len(progress) >= 5
    assert ids_shown(model) == [999, *range(2, 301)]
    # a new index replaces the rows (a snapshot), the old ones shown until it is read
    newer = WarningIndex()
    newer.replace([make_scheme(i, expires_at=NOW + timedelta(hours=i)) for i in range(1, 11)], [])
    model.show(newer)
    assert model.filling and model.rowCount() == 300
    qtbot.waitUntil(lambda: not model.filling)
    assert ids_shown(model) == list(range(1, 11))


def test_a_header_click_sorts_and_keeps_the_selection(qtbot, clock, index, commands):
    view = SchemesView(commands, clock.now)
    qtbot.addWidget(view)
    view.show_index(index)
    assert view.select_scheme(3)
    view.table.sortByColumn(SchemeColumn.EXPIRES, Qt.SortOrder.DescendingOrder)
    assert ids_shown(view.model) == list(range(12, 0, -1))
    assert view.selected_id() == 3
    assert view.table.selectionModel().selectedRows()[0].row() == 9
    view.set_filter(SchemeFilter.ALL)  # a reset: the selection is put back
    assert view.selected_id() == 3
    assert not view.model.index(0, 0, view.model.index(0, 0)).isValid()
    assert view.model.rowCount(QModelIndex()) == 12


def test_what_a_supervisor_acts_on_is_in_sight_in_a_narrow_dock(qtbot, clock, index, commands):
    view = SchemesView(commands, clock.now)
    qtbot.addWidget(view)
    view.show_index(index)
    view.resize(920, 300)  # the dock on a 1366x768 screen
    view.show()
    qtbot.waitExposed(view)
    width = view.table.viewport().width()
    for column in (SchemeColumn.ADDRESS, SchemeColumn.REVIEW, SchemeColumn.EXPIRES):
        right = view.table.columnViewportPosition(column) + view.table.columnWidth(column)
        assert view.table.columnViewportPosition(column) >= 0 and right <= width


def test_expiry_and_review_words_fit_their_columns_in_a_bigger_font(qtbot, clock, commands):
    index = WarningIndex()
    long_ago = NOW - timedelta(days=3)
    index.replace(
        [make_scheme(1, expires_at=NOW + timedelta(days=170), review_requested_at=long_ago)], []
    )
    view = SchemesView(commands, clock.now)
    qtbot.addWidget(view)
    view.show_index(index)
    for scale in (1.0, 1.6):  # the high-contrast theme's font is bigger
        font = view.table.font()
        font.setPointSizeF(font.pointSizeF() * scale)
        view.table.setFont(font)
        view.set_theme("high-contrast")
        metrics = view.table.fontMetrics()
        for column in (SchemeColumn.EXPIRES, SchemeColumn.REVIEW, SchemeColumn.STARTS):
            text = view.model.index(0, column).data()
            assert metrics.horizontalAdvance(text) < view.table.columnWidth(column), text


def test_esc_in_a_form_in_the_window_cancels_it_not_back_to_the_queue(qtbot, settings):
    from dispatchdesk.domain.roles import Role
    from tests.gui.factories import RecordingCommands, clock
    from tests.gui.test_operations import open_window

    window = open_window(qtbot, RecordingCommands(), settings, clock(), Role.SUPERVISOR)
    index = WarningIndex()
    index.replace(some_schemes(), [])
    window.relay.on_warnings(index, frozenset())
    window.act_schemes.trigger()
    view = window.warning_desk.schemes_view
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.table)
    qtbot.keyClick(view.table, Qt.Key.Key_E, CTRL_SHIFT)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.when)
    qtbot.keyClick(view.when, Qt.Key.Key_Escape)
    assert view.form.isHidden()
    assert QApplication.focusWidget() is view.table  # not sent back to the queue


def test_a_form_in_a_short_dock_scrolls_rather_than_squeeze_its_lines(qtbot, clock, commands):
    index = WarningIndex()
    index.replace(some_schemes(), [])
    view = SchemesView(commands, clock.now)
    qtbot.addWidget(view)
    font = view.font()
    font.setPointSizeF(font.pointSizeF() * 1.5)  # the high-contrast theme's bigger font
    view.setFont(font)
    view.show_index(index)
    view.resize(700, 330)  # a dock on a 1366x768 screen
    view.show()
    qtbot.waitExposed(view)
    assert view.select_scheme(2)
    view.start(SchemeAction.EXTEND)
    qtbot.waitUntil(lambda: view.hint.isVisible() and view.hint.height() > 0)
    QApplication.processEvents()  # laid out
    for label in (view.hint, view.form_title):
        assert label.height() >= label.heightForWidth(label.width())
    row = view.model.row_of(2)
    assert view.table.visualRect(view.model.index(row, 0)).intersects(view.table.viewport().rect())
