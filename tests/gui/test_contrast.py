"""Issue 15 item 2: every text/background pair the queue, the units board, the delay strip and
the panels paint is at least 4.5:1 (WCAG AA) in both themes.

The colours are read from where the desk paints them: the application palette after
``apply_theme``, the models' ForegroundRole/BackgroundRole (countdown cells, flags, unit
statuses, a refused unit command), and the ``color``/``background`` pairs of the theme's
stylesheet and the panels' own stylesheets. A cell without a background of its own is checked
against the palette's base, alternate base and (for the selection) highlight.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from PySide6.QtGui import QColor, QPalette

from dispatchdesk.domain.commands import CommandKind, CommandState, PendingCommand
from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.domain.grades import DEFAULT_POLICY
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.domain.warnings import Severity, WarningRef
from dispatchdesk.gui.common import resources
from dispatchdesk.gui.common.theme import THEMES, apply_theme
from dispatchdesk.gui.dispatch.units_model import UnitColumn, UnitsTableModel
from dispatchdesk.gui.incident.detail_panel import IncidentDetailPanel
from dispatchdesk.gui.queue.model import COUNTDOWN_STATE_ROLE, Column, IncidentTableModel
from dispatchdesk.gui.warnings.flags import WarningMark
from tests.gui.factories import T0, RecordingCommands, make_incident, make_unit

AA = 4.5
FG = 9  # Qt.ItemDataRole.ForegroundRole
BG = 8  # Qt.ItemDataRole.BackgroundRole


def luminance(colour: QColor) -> float:
    """WCAG 2.x relative luminance."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.redF())
        + 0.7152 * channel(colour.greenF())
        + 0.0722 * channel(colour.blueF())
    )


def contrast(fg: QColor, bg: QColor) -> float:
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_contrast_formula():
    assert contrast(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)
    # The pair the issue reported: the breached red as text on the high-contrast black.
    assert contrast(QColor("#7f0000"), QColor("#000000")) < 2


@pytest.fixture
def themed(qapp):
    yield qapp
    apply_theme(qapp, "normal")


def _palette_pairs(palette: QPalette) -> list[tuple[str, QColor, QColor]]:
    r, g = QPalette.ColorRole, QPalette.ColorGroup.Active
    c = lambda role: palette.color(g, role)  # noqa: E731
    return [
        ("text on base", c(r.Text), c(r.Base)),
        ("text on alternate base", c(r.Text), c(r.AlternateBase)),
        ("window text", c(r.WindowText), c(r.Window)),
        ("button text", c(r.ButtonText), c(r.Button)),
        ("selected text", c(r.HighlightedText), c(r.Highlight)),
        ("placeholder", c(r.PlaceholderText), c(r.Base)),
        ("tooltip", c(r.ToolTipText), c(r.ToolTipBase)),
    ]


def _row_backgrounds(palette: QPalette) -> list[tuple[str, QColor]]:
    g = QPalette.ColorGroup.Active
    return [
        ("base", palette.color(g, QPalette.ColorRole.Base)),
        ("alternate base", palette.color(g, QPalette.ColorRole.AlternateBase)),
    ]


def _queue_pairs(theme: str, palette: QPalette) -> list[tuple[str, QColor, QColor]]:
    now = T0 + timedelta(minutes=30)
    model = IncidentTableModel(lambda: now)
    model.set_theme(theme)
    incidents = [
        make_incident(1, created_at=now - timedelta(minutes=1)),  # on track
        make_incident(2, created_at=now - timedelta(minutes=13, seconds=30)),  # at risk
        make_incident(3, created_at=now - timedelta(minutes=40)),  # breached
        make_incident(
            4,
            created_at=now - timedelta(minutes=20),
            attended_at=now - timedelta(minutes=10),
            status=IncidentStatus.AT_SCENE,
        ),  # attended
        make_incident(5, status=IncidentStatus.CLOSED, closed_at=now),  # no countdown
        make_incident(6, owed=True),
    ]
    severities = {1: Severity.CRITICAL, 2: Severity.HEIGHTENED, 3: Severity.INFO}
    model.set_warning_marks(
        lambda iid: (
            (WarningMark(WarningRef("scheme", iid), severities[iid], False),)
            if iid in severities
            else ()
        )
    )
    model.set_incidents(incidents, DEFAULT_POLICY)
    pairs, states = [], set()
    for row in range(model.rowCount()):
        cell = model.index(row, Column.COUNTDOWN)
        states.add(cell.data(COUNTDOWN_STATE_ROLE))
        pairs.append((f"countdown {cell.data()!r}", cell.data(FG), cell.data(BG)))
        flags = model.index(row, Column.FLAGS)
        if flags.data(FG) is not None:
            assert flags.data(BG) is None
            pairs += [
                (f"flags {flags.data()!r} on {name}", flags.data(FG), bg)
                for name, bg in _row_backgrounds(palette)
            ]
    assert states == set(CountdownState)  # every state was looked at
    assert len([p for p in pairs if p[0].startswith("flags")]) == 2 * 4  # 3 severities + owed
    return pairs


def _units_pairs(theme: str, palette: QPalette) -> list[tuple[str, QColor, QColor]]:
    model = UnitsTableModel(lambda: T0)
    model.set_theme(theme)
    model.set_units([make_unit(n, status=s) for n, s in enumerate(UnitStatus, start=1)])
    model.set_pending(
        [
            PendingCommand(
                id="c",
                kind=CommandKind.ARRIVE_UNIT,
                incident_id=None,
                description="d",
                created_at=T0,
                state=CommandState.FAILED,
                message="refused",
                unit_id=1,
            )
        ]
    )
    pairs = []
    for row in range(model.rowCount()):
        status = model.index(row, UnitColumn.STATUS)
        pairs.append((f"unit status {status.data()!r}", status.data(FG), status.data(BG)))
    refused = model.index(model.row_of(1), UnitColumn.PENDING)
    assert refused.data(FG) is not None
    pairs += [
        (f"refused unit command on {name}", refused.data(FG), bg)
        for name, bg in _row_backgrounds(palette)
    ]
    return pairs


_RULE = re.compile(r"([^{}]+)\{([^}]*)\}")


def _stylesheet_pairs(qss: str, ground: QColor, where: str) -> list[tuple[str, QColor, QColor]]:
    """Each rule's ``color`` on its ``background`` (or on ``ground`` when it sets none)."""
    pairs = []
    for selector, body in _RULE.findall(re.sub(r"/\*.*?\*/", "", qss, flags=re.S)):
        props = dict(re.findall(r"([\w-]+)\s*:\s*([^;]+);?", body))
        if "color" not in props:
            continue
        bg = QColor(props["background"].strip()) if "background" in props else ground
        pairs.append((f"{where} {selector.strip()}", QColor(props["color"].strip()), bg))
    return pairs


@pytest.mark.parametrize("theme", THEMES)
def test_every_pair_painted_is_at_least_aa(themed, qtbot, theme):
    apply_theme(themed, theme)
    palette = themed.palette()
    window = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Window)
    panel = IncidentDetailPanel(RecordingCommands(), Role.SUPERVISOR, lambda: T0)
    qtbot.addWidget(panel)
    pairs = [
        *_palette_pairs(palette),
        *_queue_pairs(theme, palette),
        *_units_pairs(theme, palette),
        *_stylesheet_pairs(resources.stylesheet(theme), window, theme),
        *_stylesheet_pairs(panel.owed.styleSheet(), window, "owed banner"),
    ]
    ratios = sorted((contrast(fg, bg), name, fg.name(), bg.name()) for name, fg, bg in pairs)
    failing = [r for r in ratios if r[0] < AA]
    assert not failing, failing
    assert len(pairs) > 30


def test_high_contrast_disabled_controls_look_disabled(themed):
    apply_theme(themed, "high-contrast")
    palette = themed.palette()
    r, g = QPalette.ColorRole, QPalette.ColorGroup
    for role in (r.WindowText, r.Text, r.ButtonText):
        enabled, disabled = palette.color(g.Active, role), palette.color(g.Disabled, role)
        assert disabled != enabled
        assert contrast(enabled, disabled) > 1.5  # visibly greyed ...
        assert contrast(disabled, palette.color(g.Disabled, r.Window)) >= AA  # ... yet legible
    assert ":disabled" in resources.stylesheet("high-contrast")


def _indicator_colours(button) -> set[str]:
    """The colours painted in the indicator's square (left of the label) of ``button``."""
    image = button.grab().toImage()
    side = min(image.height(), 22)
    return {
        image.pixelColor(x, y).name()
        for x in range(side)
        for y in range((image.height() - side) // 2, (image.height() + side) // 2)
    }


@pytest.mark.parametrize("kind", ["radio", "check"])
def test_high_contrast_on_and_off_can_be_told_apart(themed, qtbot, kind):
    """An option that is off shows a white ring or box on the black ground, one that is on is
    filled yellow: the style's own grey indicator vanished on black (the victim-contact form's
    "Attempt failed" could not be seen to be off)."""
    from PySide6.QtWidgets import QCheckBox, QRadioButton

    apply_theme(themed, "high-contrast")
    button = (QRadioButton if kind == "radio" else QCheckBox)("Attempt failed (no contact)")
    qtbot.addWidget(button)
    button.show()
    off = _indicator_colours(button)
    assert "#ffffff" in off and "#facc15" not in off
    button.setChecked(True)
    on = _indicator_colours(button)
    assert "#facc15" in on and "#ffffff" in on
