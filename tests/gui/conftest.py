"""Fixtures shared by the GUI tests: a settings file of the test's own, the fake server clock
of :mod:`tests.gui.factories` (at ``T0``), and a :class:`RecordingCommands` in place of the
sync engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from dispatchdesk.domain.clock import FakeClock
from tests.gui.factories import RecordingCommands, clock


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "desk.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def fake_clock() -> FakeClock:
    return clock()


@pytest.fixture
def commands() -> RecordingCommands:
    return RecordingCommands()
