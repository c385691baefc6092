"""IncidentFilterProxy filters and static sort; Ticker repaints only visible countdown cells."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTableView

from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.gui.common.ticker import Ticker, ms_to_next_second
from dispatchdesk.gui.queue.model import Column, IncidentTableModel
from dispatchdesk.gui.queue.proxy import IncidentFilterProxy
from tests.gui.factories import T0, make_incident, minutes


def build(incidents, now):
    model = IncidentTableModel(now)
    model.set_incidents(incidents, DEFAULT_POLICY)
    return model, IncidentFilterProxy(model)


def ids(proxy):
    return [proxy.incident_at(r).id for r in range(proxy.rowCount())]


def test_default_order_most_urgent_first(qtmodeltester, fake_clock):
    incidents = [
        make_incident(1, grade=Grade.SIGNIFICANT),  # deadline T0+60
        make_incident(2, grade=Grade.IMMEDIATE, created_at=T0 + minutes(10)),  # T0+25
        make_incident(3, grade=Grade.REFERRED),  # no deadline
        make_incident(4, grade=Grade.IMMEDIATE),  # T0+15
        make_incident(5, grade=Grade.IMMEDIATE, attended_at=T0 + minutes(5)),  # attended
    ]
    _model, proxy = build(incidents, fake_clock.now)
    qtmodeltester.check(proxy)
    assert ids(proxy) == [4, 2, 1, 5, 3]


def test_closed_hidden_by_default_and_status_filter(fake_clock):
    _model, proxy = build(
        [make_incident(1), make_incident(2, status=IncidentStatus.CLOSED)], fake_clock.now
    )
    assert ids(proxy) == [1]
    proxy.set_statuses(set(IncidentStatus))
    assert sorted(ids(proxy)) == [1, 2]
    proxy.set_statuses({IncidentStatus.CLOSED})
    assert ids(proxy) == [2]


def test_grade_borough_and_search_filters(qtmodeltester, fake_clock):
    _model, proxy = build(
        [
            make_incident(1, grade=Grade.IMMEDIATE, borough="Camden", type="Burglary"),
            make_incident(2, grade=Grade.SIGNIFICANT, borough="Hackney", postcode="E8 1AB"),
            make_incident(
                3, grade=Grade.EXTENDED, borough="Camden", summary="Neighbour dispute over parking"
            ),
        ],
        fake_clock.now,
    )
    proxy.set_grades({Grade.IMMEDIATE, Grade.EXTENDED})
    assert sorted(ids(proxy)) == [1, 3]
    proxy.set_borough("camden")
    assert sorted(ids(proxy)) == [1, 3]
    proxy.set_search("parking dispute")
    assert ids(proxy) == [3]
    proxy.reset_filters()
    proxy.set_search("e81ab")
    assert ids(proxy) == [2]
    proxy.set_search("CAD 1/")
    assert ids(proxy) == [1]
    qtmodeltester.check(proxy)


def test_proxy_follows_changes(qtmodeltester, fake_clock):
    model, proxy = build([make_incident(i) for i in range(1, 4)], fake_clock.now)
    model.apply_changes(
        [
            make_incident(2, status=IncidentStatus.CLOSED),
            make_incident(7, created_at=T0 - minutes(30)),
        ],
        [3],
    )
    qtmodeltester.check(proxy)
    assert ids(proxy) == [7, 1]


def test_sorting_by_countdown_does_not_change_with_time(fake_clock):
    incidents = [make_incident(i, created_at=T0 + minutes(i)) for i in range(1, 20)]
    model, proxy = build(incidents, fake_clock.now)
    proxy.sort(Column.COUNTDOWN, Qt.SortOrder.DescendingOrder)
    before = ids(proxy)
    fake_clock.advance(timedelta(hours=3))
    model.dataChanged.emit(model.index(0, 0), model.index(18, len(Column) - 1))
    assert ids(proxy) == before
    assert before == list(range(19, 0, -1))


def test_ms_to_next_second():
    assert ms_to_next_second(100.0) == 1002
    assert ms_to_next_second(100.25) == 752
    assert ms_to_next_second(100.999) == 3


class CountingModel(IncidentTableModel):
    def __init__(self, now):
        super().__init__(now)
        self.asked: list[tuple[int, int]] = []

    def data(self, index, role=0):
        self.asked.append((index.row(), index.column()))
        return super().data(index, role)


def test_tick_repaints_only_visible_countdown_cells(qtbot, fake_clock):
    model = CountingModel(fake_clock.now)
    model.set_incidents([make_incident(i) for i in range(1, 10_001)], DEFAULT_POLICY)
    proxy = IncidentFilterProxy(model)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.resize(1200, 500)
    view.show()
    qtbot.waitExposed(view)
    QApplication.processEvents()
    ticker = Ticker(view, Column.COUNTDOWN, wall=lambda: 1000.5)
    ticks = []
    ticker.ticked.connect(lambda: ticks.append(1))
    model.asked.clear()
    fake_clock.advance(1)
    ticker.tick()
    QApplication.processEvents()
    rows = {r for r, _ in model.asked}
    cols = {c for _, c in model.asked}
    visible = view.viewport().height() // view.verticalHeader().defaultSectionSize() + 2
    assert ticks == [1]
    assert rows, "the countdown cells were not repainted"
    assert len(rows) <= visible < 100
    assert cols == {Column.COUNTDOWN}
    assert not ticker.timer.isActive()  # not started: a direct tick does not arm
    ticker.start()
    assert ticker.timer.isActive() and ticker.timer.interval() == 502
    ticker.stop()


def test_tick_does_nothing_when_countdown_scrolled_away(qtbot, fake_clock):
    _model, proxy = build([make_incident(1)], fake_clock.now)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.setColumnHidden(Column.COUNTDOWN, True)
    ticker = Ticker(view, Column.COUNTDOWN)
    assert ticker.countdown_rect() is None
    ticker.tick()
