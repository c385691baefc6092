"""The connection banner: an unmistakable OFFLINE (red, words, icon) with the age of the data
on screen, CONNECTING in amber, and nothing at all when ONLINE.

``refresh(now)`` is called on every tick so the age keeps counting while offline.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from dispatchdesk.domain.commands import ConnectionInfo, ConnectionState
from dispatchdesk.gui.common import icons
from dispatchdesk.gui.common.timefmt import local


def age_text(seconds: float) -> str:
    """``45 s old``, ``6 min old``, ``2 h 05 min old``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s old"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min old"
    return f"{minutes // 60} h {minutes % 60:02d} min old"


def banner_text(info: ConnectionInfo, now: datetime, tz: str = "Europe/London") -> str:
    """The words of the banner for ``info`` at ``now``; "" when online."""
    if info.state is ConnectionState.ONLINE:
        return ""
    if info.state is ConnectionState.CONNECTING:
        head = "CONNECTING — waiting for the server"
    else:
        head = "OFFLINE"
    if info.last_synced_at is None:
        data = "no data from the server yet"
    else:
        shown = local(info.last_synced_at, tz, "%H:%M:%S")
        age = age_text((now - info.last_synced_at).total_seconds())
        data = f"showing data from {shown}, {age}"
    tail = "; retrying" if info.state is ConnectionState.OFFLINE else ""
    text = f"{head} — {data}{tail}"
    if info.message:
        text += f" ({info.message})"
    return text


class ConnectionBanner(QFrame):
    """Hidden when online; red OFFLINE or amber CONNECTING otherwise."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAutoFillBackground(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self._icon = QLabel()
        self._text = QLabel()
        self._text.setWordWrap(True)
        font = self._text.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self._text.setFont(font)
        layout.addWidget(self._icon)
        layout.addWidget(self._text, 1)
        self._info = ConnectionInfo(ConnectionState.CONNECTING)
        self._tz = "Europe/London"
        self.setProperty("state", "connecting")
        self.hide()

    @property
    def info(self) -> ConnectionInfo:
        return self._info

    def text(self) -> str:
        return self._text.text()

    def set_timezone(self, tz: str) -> None:
        """Show times in ``tz`` (the policy's time zone)."""
        self._tz = tz

    def set_info(self, info: ConnectionInfo, now: datetime) -> None:
        self._info = info
        self.setProperty("state", info.state.value)
        icon = (
            icons.offline_icon()
            if info.state is ConnectionState.OFFLINE
            else (icons.connecting_icon())
        )
        self._icon.setPixmap(icon.pixmap(20, 20))
        self.style().unpolish(self)
        self.style().polish(self)
        self.refresh(now)

    def refresh(self, now: datetime) -> None:
        text = banner_text(self._info, now, self._tz)
        self._text.setText(text)
        self.setAccessibleName(text or "Online")
        self.setVisible(bool(text))


def server_text(info: ConnectionInfo) -> str:
    """The status bar's words for the API node in use ("" with a single server)."""
    if info.server is None:
        return ""
    where = info.server.split("://", 1)[-1]
    if info.state is ConnectionState.ONLINE:
        return f"Server: {where}"
    return f"Server: {where} ({info.state.value})"


class ServerLabel(QLabel):
    """In the status bar, with several API nodes configured: the one the desk is on."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("serverLabel")
        self.hide()

    def set_info(self, info: ConnectionInfo) -> None:
        text = server_text(info)
        self.setText(text)
        self.setAccessibleName(text)
        self.setVisible(bool(text))
