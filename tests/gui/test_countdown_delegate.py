"""The countdown delegate (issue 14): the cell painted from one call looks exactly as Qt's own
delegate paints it from the model's roles: text, icon and colours per state, selected or not,
in both themes; and the model still passes qtmodeltester with its cell role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QStyledItemDelegate, QTableView

from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.gui.common.tables import configure_table
from dispatchdesk.gui.common.theme import THEMES, apply_theme
from dispatchdesk.gui.queue import countdown_delegate
from dispatchdesk.gui.queue.model import (
    COUNTDOWN_CELL_ROLE,
    COUNTDOWN_STATE_ROLE,
    Column,
    IncidentTableModel,
)
from dispatchdesk.gui.queue.proxy import IncidentFilterProxy
from tests.gui.factories import T0, make_incident

NOW = T0 + timedelta(minutes=30)


def _incidents():
    return [
        make_incident(1, created_at=NOW - timedelta(minutes=1)),  # on track
        make_incident(2, created_at=NOW - timedelta(minutes=13, seconds=30)),  # at risk
        make_incident(3, created_at=NOW - timedelta(minutes=40)),  # breached
        make_incident(  # attended
            4, created_at=NOW - timedelta(minutes=20), attended_at=NOW - timedelta(minutes=8)
        ),
        make_incident(5, grade=Grade.REFERRED),  # no target
        make_incident(6, created_at=NOW - timedelta(hours=3), status=IncidentStatus.CLOSED),
    ]


@pytest.fixture
def themed(qapp):
    yield qapp
    apply_theme(qapp, "normal")


def _column_image(view: QTableView) -> QImage:
    x = view.columnViewportPosition(Column.COUNTDOWN.value)
    width = view.columnWidth(Column.COUNTDOWN.value)
    return view.viewport().grab().copy(x, 0, width, view.viewport().height()).toImage()


@pytest.mark.parametrize("theme", THEMES)
def test_the_countdown_cells_look_as_qts_own_delegate_paints_them(themed, qtbot, theme):
    apply_theme(themed, theme)
    model = IncidentTableModel(lambda: NOW)
    model.set_theme(theme)
    model.set_incidents(_incidents(), DEFAULT_POLICY)
    proxy = IncidentFilterProxy(model)
    rows = range(proxy.rowCount())
    states = {proxy.index(r, Column.COUNTDOWN.value).data(COUNTDOWN_STATE_ROLE) for r in rows}
    assert states == set(CountdownState)  # every look is on screen
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    configure_table(
        view,
        sort_column=Column.COUNTDOWN,
        sort_order=Qt.SortOrder.AscendingOrder,
        stretch_column=Column.LOCATION,
    )
    view.resize(1200, 400)
    view.show()
    qtbot.waitExposed(view)
    selection = view.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    selection.select(proxy.index(2, 0), flags)  # a selected row is painted as before too
    model.refresh_now()
    qts = _column_image(view)
    delegate = countdown_delegate.install(view, model, proxy)
    assert view.itemDelegateForColumn(Column.COUNTDOWN.value) is delegate
    model.refresh_now()
    ours = _column_image(view)
    assert ours == qts
    # And not by accident: another delegate's look differs.
    view.setItemDelegateForColumn(Column.COUNTDOWN.value, _Plain(view))
    assert _column_image(view) != qts


class _Plain(QStyledItemDelegate):
    def initStyleOption(self, option, index):
        super().initStyleOption(option, index)
        option.text = "x"


def test_the_cell_role_holds_what_the_roles_give(qapp, qtmodeltester):
    model = IncidentTableModel(lambda: NOW)
    model.set_incidents(_incidents(), DEFAULT_POLICY)
    qtmodeltester.check(model)
    model.refresh_now()
    for row in range(6):
        index = model.index(row, Column.COUNTDOWN.value)
        text, icon, foreground, background, state = index.data(COUNTDOWN_CELL_ROLE)
        assert (text, state) == (index.data(), index.data(COUNTDOWN_STATE_ROLE))
        assert icon.cacheKey() == index.data(1).cacheKey()  # DecorationRole
        assert (foreground, background) == (index.data(9), index.data(8))  # Fore/Background
        assert model.countdown_cell(row) == index.data(COUNTDOWN_CELL_ROLE)
