"""The notices on the main window: the Notices dock under the queue, the banner above it, and
the supervisors' form. :class:`NoticesDesk` keeps what the relay last brought and rebuilds the
rows when notices or reads change, or when one expires (checked on the window's tick, by server
time). At sign-in, unread notices bring the dock forward without taking the keyboard."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QBoxLayout

from dispatchdesk.domain.roles import Right, Role, has_right
from dispatchdesk.gui.notices.banner import NoticeBanner
from dispatchdesk.gui.notices.compose import NoticeComposer
from dispatchdesk.gui.notices.model import NoticesModel
from dispatchdesk.gui.notices.texts import NoticeRow, banner_text, rows_for
from dispatchdesk.gui.notices.view import NoticesView
from dispatchdesk.protocol.notices import NoticeCreate, NoticeOut
from dispatchdesk.sync.api import DeskCommands

if TYPE_CHECKING:
    from dispatchdesk.gui.queue.window import QueueWindow


class NoticesDesk(QObject):
    """Owns the notices model, view, dock, banner and form of one window."""

    def __init__(
        self,
        window: QueueWindow,
        commands: DeskCommands,
        role: Role,
        now: Callable[[], datetime],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._commands = commands
        self._role = role
        self._now = now
        self._tz = "Europe/London"
        self._notices: list[NoticeOut] = []
        self._reads: dict[int, datetime] = {}
        self._next_expiry: datetime | None = None
        #: Unread notices were brought to the operator's sight once (at sign-in, or when
        #: the first arrived); later ones show in the banner and the list.
        self._announced = False
        self.composer: NoticeComposer | None = None
        self.model = NoticesModel(self)
        self.view = NoticesView(
            self.model,
            supervisor=has_right(role, Right.POST_NOTICES),
            load_receipts=getattr(commands, "notice_receipts", None),
        )
        self.view.read.connect(self.read)
        self.view.post_requested.connect(self.compose)
        self.dock = window.add_bottom_dock("Notices", "noticesDock", self.view)
        self.banner = NoticeBanner()
        self.banner.read_requested.connect(self.show)

    def place_banner(self, layout: QBoxLayout, index: int) -> None:
        layout.insertWidget(index, self.banner)

    # -- fed by the relay and the tick -----------------------------------------------------

    def set_timezone(self, tz: str) -> None:
        self._tz = tz
        self.view.set_timezone(tz)

    def set_notices(self, notices: Sequence[NoticeOut], reads: Mapping[int, datetime]) -> None:
        self._notices = list(notices)
        self._reads = dict(reads)
        self._refresh(self._now())

    def on_tick(self) -> None:
        now = self._now()
        if self._next_expiry is not None and self._next_expiry <= now:
            self._refresh(now)

    def _refresh(self, now: datetime) -> None:
        rows = rows_for(self._notices, self._reads, self._role, now)
        current = self.view.selected()
        self.model.set_rows(rows, self._tz)
        self.view.select(current.notice.id if current is not None else None)
        self.banner.show_text(banner_text(rows, self._tz))
        self._next_expiry = min((r.notice.expires_at for r in rows), default=None)
        if any(r.unread for r in rows) and not self._announced:
            self._announced = True
            self.dock.show()
            self.dock.raise_()  # in sight, but the keyboard stays where it is

    def rows(self) -> list[NoticeRow]:
        return self.model.rows()

    def state(self) -> tuple[list[NoticeOut], dict[int, datetime]]:
        """What the relay last brought (for a window that replaces this one)."""
        return list(self._notices), dict(self._reads)

    # -- actions ---------------------------------------------------------------------------

    def show(self) -> None:
        """Ctrl+Shift+N or the banner: the dock, the oldest notice still to acknowledge
        selected, and the keyboard on the list."""
        self.dock.show()
        self.dock.raise_()
        pending = [r for r in self.model.rows() if r.needs_ack] or [
            r for r in self.model.rows() if r.unread
        ]
        self.view.select(pending[-1].notice.id if pending else None)
        self.view.focus_list()

    def read(self, notice: NoticeOut) -> None:
        self._commands.read_notice(notice)

    def compose(self) -> None:
        """The supervisors' form (non-modal; one at a time)."""
        if not has_right(self._role, Right.POST_NOTICES):
            return
        if self.composer is None:
            self.composer = NoticeComposer(self._now, self._tz, self._window)
            self.composer.submitted.connect(self._post)
        self.composer.show()
        self.composer.raise_()
        self.composer.title.setFocus()

    def _post(self, notice: NoticeCreate) -> None:
        self._commands.post_notice(notice)
