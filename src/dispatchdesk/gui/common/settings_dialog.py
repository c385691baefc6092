"""The settings dialog: this operator's choices, and what the force's IT set centrally.

The widgets come from ``ui/settings.ui`` (generated :mod:`dispatchdesk.gui.forms.ui_settings`).
The operator chooses the theme and whether alert sounds play; both are kept in the desk's
``QSettings`` (``ui/theme``; the sounds per operator, ``operators/<name>/alert_sounds``).
Server URL, CA bundle and the command age come from the system-wide and per-user config
files and are shown read-only, with the files read.
Non-modal: ``show()`` it; on OK it saves and emits ``theme_chosen`` and ``sounds_changed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QDialog, QWidget

from dispatchdesk.gui.common import resources
from dispatchdesk.gui.common.sounds import AlertSounds
from dispatchdesk.gui.forms.ui_settings import Ui_SettingsDialog

THEME_KEY = "ui/theme"
SOUNDS_KEY = "alerts/sounds"
_THEMES = ("normal", "high-contrast")  # in the order of the combo box in settings.ui


@dataclass(frozen=True)
class CentralSettings:
    """What the config files say (the app layer fills it from its ``Config``)."""

    server_url: str | None = None
    ca_bundle: str | None = None
    max_command_age_minutes: int = 10
    sources: Sequence[str] = ()
    locked: frozenset[str] = field(default_factory=frozenset)


def sounds_key(operator: str = "") -> str:
    """Where the choice is kept: per operator (``operators/<name>/alert_sounds``; several
    operators may share one desk's account), or desk-wide (``alerts/sounds``) without a
    name."""
    name = "".join("_" if c in "/\\" else c for c in operator.strip())
    return f"operators/{name}/alert_sounds" if name else SOUNDS_KEY


def sounds_enabled(settings: QSettings, operator: str = "") -> bool:
    """The operator's choice (else what this desk had before choices were per operator), on
    unless turned off."""
    value = settings.value(sounds_key(operator), settings.value(SOUNDS_KEY, "true"))
    return str(value).lower() in ("true", "1")


class SettingsDialog(QDialog):
    """Theme and alert sounds for this operator; central settings read-only."""

    theme_chosen = Signal(str)
    sounds_changed = Signal(bool)

    def __init__(
        self,
        settings: QSettings,
        central: CentralSettings | None = None,
        sounds: AlertSounds | None = None,
        parent: QWidget | None = None,
        operator: str = "",
    ) -> None:
        super().__init__(parent)
        self.ui = Ui_SettingsDialog()
        self.ui.setupUi(self)
        self.setModal(False)
        self._settings = settings
        self._sounds_key = sounds_key(operator)
        self._sounds = sounds or AlertSounds()
        colour = self.palette().color(QPalette.ColorRole.WindowText)
        self.setWindowIcon(resources.icon("settings", colour))
        self.ui.themeLabel.setPixmap(resources.icon("contrast", colour, 16).pixmap(16, 16))
        self.ui.themeLabel.setToolTip("Theme")
        self.ui.testSound.setIcon(resources.icon("volume-2", colour))
        theme = str(settings.value(THEME_KEY, "normal"))
        self.ui.theme.setCurrentIndex(_THEMES.index(theme) if theme in _THEMES else 0)
        self.ui.sounds.setText(
            "Play my alert &sounds (grade I target breached, new escalation, "
            "new critical warning, new grade I incident, connection lost)"
        )
        self.ui.sounds.setChecked(sounds_enabled(settings, operator))
        self.show_central(central or CentralSettings())
        self.ui.testSound.clicked.connect(self.play_test_sound)
        self.ui.buttons.accepted.connect(self.save)
        self.ui.buttons.rejected.connect(self.reject)

    def show_central(self, central: CentralSettings) -> None:
        """Fill the read-only part; a locked key says so."""

        def shown(key: str, value: object) -> str:
            text = "—" if value in (None, "") else str(value)
            return f"{text} (locked)" if key in central.locked else text

        self.ui.serverUrl.setText(shown("server_url", central.server_url))
        self.ui.caBundle.setText(shown("ca_bundle", central.ca_bundle or "system certificates"))
        self.ui.commandAge.setText(
            shown("max_command_age_minutes", f"{central.max_command_age_minutes} minutes")
        )
        self.ui.sources.setText("Read from: " + (", ".join(central.sources) or "defaults only"))

    def chosen_theme(self) -> str:
        return _THEMES[max(0, self.ui.theme.currentIndex())]

    def play_test_sound(self) -> bool:
        """Play the breach alert so the operator can check the volume (even if turned off)."""
        was = self._sounds.enabled
        self._sounds.enabled = True
        try:
            return self._sounds.play("breach")
        finally:
            self._sounds.enabled = was

    def save(self) -> None:
        """Keep the choices, tell the desk, close."""
        theme, sounds = self.chosen_theme(), self.ui.sounds.isChecked()
        self._settings.setValue(THEME_KEY, theme)
        self._settings.setValue(self._sounds_key, sounds)
        self._sounds.enabled = sounds
        self.theme_chosen.emit(theme)
        self.sounds_changed.emit(sounds)
        self.accept()
