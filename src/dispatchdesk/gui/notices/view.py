"""The Notices view: the list of live notices for this operator's role, the selected one's
text, and its action (acknowledge, or mark read); for supervisors, posting a notice and who has
and has not read one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dispatchdesk.gui.common.tables import configure_table
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.notices.model import NOTICE_ROLE, NoticeColumn, NoticesModel
from dispatchdesk.gui.notices.texts import NoticeRow, detail_text, roles_text
from dispatchdesk.protocol.notices import NoticeReceipts

ReceiptsLoader = Callable[[int], Awaitable[NoticeReceipts]]


class NoticesView(QWidget):
    """List and reading pane. ``read`` asks to record a read of the selected notice; the
    owner sends it. ``post_requested``: a supervisor asked for the form."""

    read = Signal(object)
    post_requested = Signal()

    def __init__(
        self,
        model: NoticesModel,
        *,
        supervisor: bool,
        load_receipts: ReceiptsLoader | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self._load_receipts = load_receipts
        self._task: asyncio.Future[None] | None = None
        self._tz = "Europe/London"
        self.table = QTableView()
        self.table.setObjectName("noticesTable")
        self.table.setModel(model)
        configure_table(
            self.table,
            sort_column=-1,
            sort_order=Qt.SortOrder.AscendingOrder,
            stretch_column=NoticeColumn.TITLE,
        )
        self.table.setSortingEnabled(False)  # newest first, always
        header = self.table.horizontalHeader()
        for column in (NoticeColumn.STATE, NoticeColumn.FROM, NoticeColumn.POSTED):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setAccessibleName("Operational notices")
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Notice text")
        self.read_button = QPushButton("&Acknowledge")
        self.read_button.clicked.connect(self.read_selected)
        self.post_button = QPushButton("&New notice…")
        self.post_button.clicked.connect(self.post_requested)
        self.receipts_button = QPushButton("&Who has read it…")
        self.receipts_button.clicked.connect(self.show_receipts)
        for button in (self.post_button, self.receipts_button):
            button.setVisible(supervisor)
        self.receipts = QPlainTextEdit()
        self.receipts.setReadOnly(True)
        self.receipts.setAccessibleName("Read receipts")
        self.receipts.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self._build()
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.read_selected)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())
        self.model.modelReset.connect(self._show_selected)
        self._show_selected()

    def _build(self) -> None:
        buttons = QHBoxLayout()
        for b in (self.read_button, self.post_button, self.receipts_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        pane = QWidget()
        right = QVBoxLayout(pane)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.text, 2)
        right.addLayout(buttons)
        right.addWidget(self.receipts, 1)
        right.addWidget(self.status)
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(pane)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    def set_timezone(self, tz: str) -> None:
        self._tz = tz

    def selected(self) -> NoticeRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        row = self.model.data(index, NOTICE_ROLE)
        return row if isinstance(row, NoticeRow) else None

    def select(self, notice_id: int | None) -> None:
        """Make ``notice_id`` (else the first row) the current row."""
        row = self.model.row_of(notice_id) if notice_id is not None else None
        if row is None and self.model.rowCount() > 0:
            row = 0
        if row is None:
            return
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )

    def _show_selected(self, *_: object) -> None:
        row = self.selected()
        self.receipts.hide()
        if row is None:
            empty = self.model.rowCount() == 0
            self.text.setPlainText("No operational notices for you." if empty else "")
            self.read_button.setEnabled(False)
            self.receipts_button.setEnabled(False)
            return
        self.text.setPlainText(
            f"{row.notice.title}\n{detail_text(row, self._tz)}\n\n{row.notice.body}"
        )
        self.read_button.setText("&Acknowledge" if row.notice.requires_ack else "&Mark read")
        self.read_button.setEnabled(row.unread)
        self.receipts_button.setEnabled(True)

    def read_selected(self) -> None:
        row = self.selected()
        if row is not None and row.unread:
            self.read.emit(row.notice)

    # -- receipts (supervisors) ------------------------------------------------------------

    def show_receipts(self) -> None:
        row = self.selected()
        if row is None or self._load_receipts is None:
            return
        if self._task is not None and not self._task.done():
            return
        self.status.setText("Loading who has read it…")
        try:
            task = asyncio.ensure_future(self._fetch(self._load_receipts, row.notice.id))
        except RuntimeError as exc:  # no event loop: say so, never crash
            self.status.setText(f"Could not load the read receipts: {exc}")
            return
        self._task = task
        self.destroyed.connect(lambda *_: task.cancel())

    async def _fetch(self, load: ReceiptsLoader, notice_id: int) -> None:
        try:
            receipts = await load(notice_id)
        except Exception as exc:  # shown; nothing else depends on it
            self.status.setText(f"Could not load the read receipts ({exc}). Try again.")
            return
        self.status.setText("")
        self.show_receipt_list(receipts)

    def show_receipt_list(self, receipts: NoticeReceipts) -> None:
        lines = [
            f"{receipts.notice.title} — for {roles_text(receipts.notice.roles)}",
            f"Read by {len(receipts.read)}; NOT read by {len(receipts.not_read)}.",
            "",
            "Not read:",
            *(f"  {u.username} ({u.role.label})" for u in receipts.not_read),
            "",
            "Read:",
            *(
                f"  {u.username} ({u.role.label}) at "
                f"{local(u.read_at, self._tz, '%d %b %H:%M') if u.read_at else '?'}"
                for u in receipts.read
            ),
        ]
        self.receipts.setPlainText("\n".join(lines))
        self.receipts.show()

    def focus_list(self) -> None:
        if self.selected() is None:
            self.select(None)
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
