"""Alert sounds from the compiled resources, played without QtMultimedia.

PySide6-Essentials has no QtMultimedia, so the WAVs in ``:/sounds`` are played by the platform:
``winsound`` on Windows; on Linux the first of ``pw-play``, ``paplay``, ``aplay``
found (the ``.deb`` recommends them). Either plays a copy written once to a private temporary
folder, asynchronously.
Without any of them, or when the operator turned sounds off, nothing is played but
:meth:`AlertSounds.play` still says what it would have done; a failed player never raises.

Why not QtMultimedia's ``QSoundEffect`` (measured for PySide6 6.11.3, issue 15): it is not in
PySide6-Essentials (which ships only its ``.pyi``); it needs PySide6-Addons (a 175 MB wheel,
438 MB installed, for a dev venv) and, on Linux, ``libpulse0``; in the bundle it would add
about 23 MB (``libQt6Multimedia`` with its FFmpeg plugin ~3.5 MB plus FFmpeg's libav* ~19 MB),
and with no audio device it only reports an error state. The player processes add nothing to
the bundle and are already tested; the cost is a process per alert (rare: each event once).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dispatchdesk.gui.common.resources import SOUND_NAMES, read

log = logging.getLogger(__name__)

PLAYERS = ("pw-play", "paplay", "aplay")


def wav(name: str) -> bytes:
    """The WAV bytes of ``name`` (one of ``SOUND_NAMES``)."""
    if name not in SOUND_NAMES:
        raise KeyError(f"no sound {name!r} in resources/dispatchdesk.qrc")
    return read(f":/sounds/{name}.wav")


class AlertSounds:
    """Plays ``new-immediate``, ``breach`` and ``offline`` unless turned off."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._player = next((p for p in (shutil.which(n) for n in PLAYERS) if p), None)

    @property
    def player(self) -> str:
        """How sounds are played here: ``winsound``, a player's path, or ``""`` for none."""
        return "winsound" if sys.platform == "win32" else self._player or ""

    def play(self, name: str) -> bool:
        """Start playing ``name`` without waiting; True if a player was started."""
        data = wav(name)
        if not self.enabled or not self.player:
            return False
        try:
            path = self._file(name, data)
            if sys.platform == "win32":
                import winsound

                winsound.PlaySound(
                    str(path), winsound.SND_FILENAME | winsound.SND_ASYNC | winsound.SND_NODEFAULT
                )
                return True
            assert self._player is not None
            subprocess.Popen(
                [self._player, str(path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            return True
        except OSError as exc:
            log.warning("alert sound %s not played: %s", name, exc)
            return False

    def _file(self, name: str, data: bytes) -> Path:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="dispatchdesk-sounds-")
        path = Path(self._dir.name) / f"{name}.wav"
        if not path.exists():
            path.write_bytes(data)
        return path
