"""Themes: a normal and a high-contrast palette, and the colours of countdown states.

Colour is never the only signal of a countdown state (the cell also has text and an icon), but
the colours of the states must stay distinguishable in both themes. The stylesheets are
``resources/themes/*.qss``, compiled into the app with the other resources.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from dispatchdesk.domain.countdown import CountdownState
from dispatchdesk.gui.common import resources

THEMES = ("normal", "high-contrast")


@dataclass(frozen=True)
class StateColours:
    """Foreground and background of a countdown cell in one state."""

    foreground: QColor
    background: QColor


def _pair(fg: str, bg: str) -> StateColours:
    return StateColours(QColor(fg), QColor(bg))


_COUNTDOWN: dict[str, dict[CountdownState, StateColours]] = {
    "normal": {
        CountdownState.ON_TRACK: _pair("#14532d", "#dcfce7"),
        CountdownState.AT_RISK: _pair("#713f12", "#fef08a"),
        CountdownState.BREACHED: _pair("#ffffff", "#b91c1c"),
        CountdownState.ATTENDED: _pair("#1e3a8a", "#dbeafe"),
        CountdownState.NONE: _pair("#374151", "#f3f4f6"),
    },
    "high-contrast": {
        CountdownState.ON_TRACK: _pair("#000000", "#4ade80"),
        CountdownState.AT_RISK: _pair("#000000", "#facc15"),
        CountdownState.BREACHED: _pair("#ffffff", "#7f0000"),
        CountdownState.ATTENDED: _pair("#ffffff", "#1d4ed8"),
        CountdownState.NONE: _pair("#ffffff", "#000000"),
    },
}

#: Text of a problem on a plain row (a failed or held command, an owed incident: the queue's
#: flags, the units board's pending column): the themes' error red, readable on the base and
#: alternate base (the breached *background* is too dark for text on black).
_PROBLEM_TEXT = {"normal": "#b91c1c", "high-contrast": "#ff8080"}

#: Normal theme: the style's selection blue is too light for white text (3.7:1); this one is
#: 6.7:1.
_NORMAL_HIGHLIGHT = "#1d4ed8"

#: High contrast: disabled text is grey (8:1 on black, still readable) so a disabled control
#: does not look like an enabled one.
_HC_DISABLED_TEXT = "#a0a0a0"


def problem_colour(theme: str) -> QColor:
    """The text colour of a problem on a table row in ``theme``."""
    return QColor(_PROBLEM_TEXT[_checked(theme)])


def countdown_colours(theme: str) -> dict[CountdownState, StateColours]:
    """Colours of each countdown state in ``theme``."""
    return _COUNTDOWN[_checked(theme)]


def _checked(theme: str) -> str:
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; expected one of {THEMES}")
    return theme


def _high_contrast_palette() -> QPalette:
    palette = QPalette()
    black, white, yellow = QColor("#000000"), QColor("#ffffff"), QColor("#facc15")
    for role, colour in (
        (QPalette.ColorRole.Window, black),
        (QPalette.ColorRole.WindowText, white),
        (QPalette.ColorRole.Base, black),
        (QPalette.ColorRole.AlternateBase, QColor("#1f1f1f")),
        (QPalette.ColorRole.Text, white),
        (QPalette.ColorRole.Button, black),
        (QPalette.ColorRole.ButtonText, white),
        (QPalette.ColorRole.Highlight, yellow),
        (QPalette.ColorRole.HighlightedText, black),
        (QPalette.ColorRole.ToolTipBase, black),
        (QPalette.ColorRole.ToolTipText, white),
        (QPalette.ColorRole.PlaceholderText, QColor("#c0c0c0")),
        (QPalette.ColorRole.Link, yellow),
    ):
        palette.setColor(role, colour)
    grey = QColor(_HC_DISABLED_TEXT)
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.PlaceholderText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, grey)
    return palette


def _normal_palette(app: QApplication) -> QPalette:
    palette = app.style().standardPalette()
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        palette.setColor(group, QPalette.ColorRole.Highlight, QColor(_NORMAL_HIGHLIGHT))
        palette.setColor(group, QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    return palette


def apply_theme(app: QApplication, theme: str) -> None:
    """Apply ``"normal"`` or ``"high-contrast"`` to the whole application."""
    theme = _checked(theme)
    palette = _high_contrast_palette() if theme == "high-contrast" else _normal_palette(app)
    app.setPalette(palette)
    app.setStyleSheet(resources.stylesheet(theme))  # resources/themes/<theme>.qss
    app.setProperty("dispatchdesk_theme", theme)


def current_theme(app: QApplication) -> str:
    """The theme last applied with :func:`apply_theme` (``"normal"`` before any)."""
    value = app.property("dispatchdesk_theme")
    return value if isinstance(value, str) and value in THEMES else "normal"
