"""Generated forms and resources are current, load from the compiled module, and are used."""

from __future__ import annotations

import re
import subprocess
import sys
import wave
from io import BytesIO
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QIcon

from dispatchdesk.gui.common import resources
from dispatchdesk.gui.common.settings_dialog import CentralSettings, SettingsDialog
from dispatchdesk.gui.common.sounds import AlertSounds, wav

ROOT = Path(__file__).resolve().parents[2]


def test_generated_modules_match_ui_and_qrc():
    """Regenerates forms and resources into a temp dir; fails if the committed ones are stale."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "gen_assets.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_every_ui_file_has_a_form_and_every_qrc_file_exists():
    qrc = (ROOT / "resources" / "dispatchdesk.qrc").read_text()
    for rel in re.findall(r">([^<>]+)</file>", qrc):
        assert (ROOT / "resources" / rel).is_file(), rel
    for ui in (ROOT / "ui").glob("*.ui"):
        assert (ROOT / "src/dispatchdesk/gui/forms" / f"ui_{ui.stem}.py").is_file()


def test_icons_are_licensed_and_all_listed_icons_are_shipped():
    icons = ROOT / "resources" / "icons"
    assert "ISC License" in (icons / "LICENSE").read_text()
    on_disk = {p.stem for p in icons.glob("*.svg")}
    assert on_disk == {*resources.ICON_NAMES, "dispatchdesk"}  # only the icons used
    assert resources.read(":/icons/LICENSE").startswith(b"ISC License")


def test_icons_stylesheets_and_sounds_come_from_the_compiled_module(qapp):
    assert not resources.app_icon().isNull()
    assert 256 in [s.width() for s in resources.app_icon().availableSizes()]
    for name in resources.ICON_NAMES:
        image = resources.icon(name, "#ffffff").pixmap(24, 24).toImage()
        assert not image.isNull()
        assert any(
            image.pixelColor(x, y).alpha() > 0 and image.pixelColor(x, y).red() > 200
            for x in range(24)
            for y in range(24)
        ), f"{name} not drawn in the colour asked"
    assert "QFrame#banner" in resources.stylesheet("normal")
    assert "font-size" in resources.stylesheet("high-contrast")
    for name in resources.SOUND_NAMES:
        with wave.open(BytesIO(wav(name))) as w:
            assert w.getnchannels() == 1 and 0.2 < w.getnframes() / w.getframerate() < 1.0


def test_sounds_off_or_without_player_do_nothing(tmp_path):
    sounds = AlertSounds(enabled=False)
    assert sounds.play("breach") is False
    sounds = AlertSounds()
    sounds._player = None
    if sounds.player != "winsound":
        assert sounds.play("offline") is False


def test_sounds_start_the_player_on_a_copy_of_the_wav(tmp_path):
    log = tmp_path / "played"
    player = tmp_path / "player"
    player.write_text(f'#!/bin/sh\ncp "$1" {log}\n')
    player.chmod(0o755)
    sounds = AlertSounds()
    sounds._player = str(player)
    assert sounds.play("new-immediate")
    for _ in range(100):
        if log.exists() and log.stat().st_size:
            break
        import time

        time.sleep(0.02)
    assert log.read_bytes() == wav("new-immediate")


def test_settings_dialog_saves_choices_and_shows_central_settings(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    central = CentralSettings(
        server_url="https://cad.example.police.uk:8700",
        ca_bundle="/etc/ssl/force.pem",
        sources=["/etc/dispatchdesk/config.toml"],
        locked=frozenset({"server_url"}),
    )
    dialog = SettingsDialog(settings, central, AlertSounds(enabled=True))
    qtbot.addWidget(dialog)
    assert dialog.ui.serverUrl.text() == "https://cad.example.police.uk:8700 (locked)"
    assert dialog.ui.caBundle.text() == "/etc/ssl/force.pem"
    assert "/etc/dispatchdesk/config.toml" in dialog.ui.sources.text()
    assert dialog.chosen_theme() == "normal" and dialog.ui.sounds.isChecked()
    assert isinstance(dialog.windowIcon(), QIcon) and not dialog.windowIcon().isNull()
    dialog.ui.theme.setCurrentIndex(1)
    dialog.ui.sounds.setChecked(False)
    chosen: list[object] = []
    dialog.theme_chosen.connect(chosen.append)
    dialog.sounds_changed.connect(chosen.append)
    dialog.ui.buttons.accepted.emit()
    assert chosen == ["high-contrast", False]
    assert settings.value("ui/theme") == "high-contrast"
    assert str(settings.value("alerts/sounds")).lower() == "false"
