"""Issue 15 items 1 and 7: the queue window at 1366×768 and at 1080p, in both themes, with the
real layout (``arrange_for`` a screen's available area, then shown): every column readable, the
incident panel not clipped, the docks rearranged rather than overflowing; the layout
remembered per screen set-up; twelve unit rows at 1080p; the commands panel without sideways
scrolling."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QWidget

from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.common.theme import THEMES, apply_theme, countdown_colours
from dispatchdesk.gui.queue import layout_keeper as layout_module
from dispatchdesk.gui.queue.layout_keeper import (
    COLUMN_MINIMUM_SAMPLES,
    COLUMN_SAMPLES,
    UNIT_ROWS,
)
from dispatchdesk.gui.queue.model import Column
from dispatchdesk.gui.queue.window import QueueWindow
from tests.gui.factories import make_incident

SMALL = QRect(0, 0, 1366, 768 - 28)  # the screen less a panel
FULL_HD = QRect(0, 0, 1920, 1080 - 40)
NEVER_SHRUNK = [c for c in Column if c not in COLUMN_MINIMUM_SAMPLES]


@pytest.fixture
def themed(qapp):
    yield qapp
    apply_theme(qapp, "normal")


def _window(qtbot, commands, settings, fake_clock, area: QRect) -> QueueWindow:
    window = QueueWindow(commands, Role.SUPERVISOR, fake_clock.now, "jsmith", settings)
    qtbot.addWidget(window)
    window.layout_keeper.arrange_for(area)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.table.viewport().width() > 0)
    return window


def _inside(widget: QWidget, container: QWidget) -> bool:
    """The whole of ``widget`` is within ``container`` (nothing cut at an edge)."""
    top_left = widget.mapTo(container, widget.rect().topLeft())
    return container.rect().contains(QRect(top_left, widget.size()))


def _assert_queue_readable(window: QueueWindow) -> None:
    table = window.table
    metrics = table.fontMetrics()
    widths = [table.columnWidth(c) for c in Column]
    assert sum(widths) <= table.viewport().width()  # Status and Flags not off the edge
    assert not table.horizontalScrollBar().isVisible()
    for column in NEVER_SHRUNK:  # countdowns never cut
        assert table.columnWidth(column) >= metrics.horizontalAdvance(COLUMN_SAMPLES[column])
    for column, sample in COLUMN_MINIMUM_SAMPLES.items():  # the location keeps 25 characters
        assert table.columnWidth(column) >= metrics.horizontalAdvance(sample)


def _assert_panel_usable(window: QueueWindow) -> None:
    panel = window.detail
    assert panel.isVisible()
    assert panel.width() >= panel.widget().minimumSizeHint().width()
    assert _inside(window.detail_dock, window)
    button = panel.regrade_button  # "Apply gr" was cut off
    assert button.width() >= button.sizeHint().width()
    assert _inside(button, panel.viewport())


@pytest.mark.parametrize("theme", THEMES)
def test_1366x768_every_column_and_the_incident_panel_fit(
    themed, qtbot, commands, settings, fake_clock, theme
):
    apply_theme(themed, theme)
    window = _window(qtbot, commands, settings, fake_clock, SMALL)
    window.set_theme(theme)
    assert window.width() <= SMALL.width() and window.height() <= SMALL.height()
    assert window.minimumSizeHint().width() <= SMALL.width()  # never forced wider (1421 px)
    # The incident panel went under the queue, beside the units board.
    assert window.layout_keeper.compact
    _assert_queue_readable(window)
    _assert_panel_usable(window)
    for dock in (window.dispatch.units_dock, window.detail_dock):
        assert _inside(dock, window)


def test_a_theme_switch_keeps_every_column(themed, qtbot, commands, settings, fake_clock):
    window = _window(qtbot, commands, settings, fake_clock, SMALL)
    for theme in ("high-contrast", "normal", "high-contrast"):
        window.set_theme(theme)
        qtbot.waitUntil(
            lambda: (
                sum(window.table.columnWidth(c) for c in Column) <= window.table.viewport().width()
            )
        )
        _assert_queue_readable(window)  # Location was three characters after a switch
        _assert_panel_usable(window)


@pytest.mark.parametrize("theme", THEMES)
def test_1080p_units_board_shows_twelve_rows(themed, qtbot, commands, settings, fake_clock, theme):
    apply_theme(themed, theme)
    window = _window(qtbot, commands, settings, fake_clock, FULL_HD)
    window.set_theme(theme)
    board = window.dispatch.units_board.table
    assert board.isVisible()
    rows = board.verticalHeader().defaultSectionSize()
    assert board.viewport().height() >= UNIT_ROWS * rows
    _assert_queue_readable(window)
    _assert_panel_usable(window)
    if theme == "normal":
        # A 1080p screen has room for the panel beside the queue.
        assert not window.layout_keeper.compact


@pytest.mark.parametrize("area", [SMALL, FULL_HD])
def test_commands_panel_reads_without_scrolling_sideways(
    qtbot, commands, settings, fake_clock, area
):
    window = _window(qtbot, commands, settings, fake_clock, area)
    window.commands_dock.focus()
    table = window.commands_panel.table
    qtbot.waitUntil(table.isVisible)
    total = sum(table.columnWidth(c) for c in range(table.columnCount()))
    assert total <= table.viewport().width()
    qtbot.waitUntil(lambda: not table.horizontalScrollBar().isVisible())


def test_layout_is_remembered_per_screen_setup(qtbot, commands, settings, fake_clock, monkeypatch):
    monkeypatch.setattr(layout_module, "screen_setup", lambda: "1366x768+0+0")
    window = _window(qtbot, commands, settings, fake_clock, SMALL)
    window.resize(760, 500)  # within the offscreen screen (800 px)
    window.commands_dock.hide()
    with qtbot.waitSignal(window.closed):
        window.close()
    assert settings.value("layout/1366x768+0+0/geometry") is not None

    again = QueueWindow(commands, Role.SUPERVISOR, fake_clock.now, "jsmith", settings)
    qtbot.addWidget(again)
    assert again.height() == 500  # (the width is held to the offscreen screen's 800 px)
    again.show()
    assert again.commands_dock.isHidden()
    assert again.layout_keeper.compact and again.dockWidgetArea(
        again.detail_dock
    ) == window.dockWidgetArea(window.detail_dock)

    # Another screen set-up (docked to two monitors) has a layout of its own.
    monkeypatch.setattr(layout_module, "screen_setup", lambda: "1920x1080+0+0,1920x1080+1920+0")
    docked = QueueWindow(commands, Role.SUPERVISOR, fake_clock.now, "jsmith", settings)
    qtbot.addWidget(docked)
    assert docked.height() != 500
    docked.show()
    assert not docked.commands_dock.isHidden()


def test_screen_setup_names_every_screen(qapp):
    setup = layout_module.screen_setup()
    assert setup.count("x") == len(QApplication.screens())


def test_theme_chosen_at_start_reaches_the_queue(themed, qtbot, commands, settings, fake_clock):
    """``--theme high-contrast`` (applied to the app before the window) colours the cells too:
    the countdowns were painted in the normal theme's pale colours on black."""
    apply_theme(themed, "high-contrast")
    window = QueueWindow(commands, Role.SUPERVISOR, fake_clock.now, "jsmith", settings)
    qtbot.addWidget(window)
    window.relay.on_state([make_incident(1, created_at=fake_clock.now())], DEFAULT_POLICY)
    cell = window.model.index(0, Column.COUNTDOWN)
    assert cell.data(8) == countdown_colours("high-contrast")[CountdownState.ON_TRACK].background
    assert window.act_contrast.isChecked()
