"""A past incident from the history, read-only, in a non-modal window of its own."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QVBoxLayout, QWidget

from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.history.entries import HistoryEntry, matched_text, who

FIELDS = (
    "Ref",
    "Created",
    "Type",
    "Grade",
    "Status",
    "Closed",
    "Location",
    "Why listed",
    "People",
    "Weapons",
    "Summary",
    "Rationale",
    "Linked",
)


class HistoryEntryViewer(QDialog):
    """Everything the history holds about one past incident; nothing here can change it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.setWindowTitle("Past incident (read-only)")
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        for name in FIELDS:
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByKeyboard
                | Qt.TextInteractionFlag.TextSelectableByMouse
            )
            form.addRow(f"{name}:", label)
            self.fields[name] = label
        note = QLabel("Read-only: nothing here can be changed. Esc closes it.")
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addStretch(1)
        close = QShortcut(QKeySequence("Esc"), self)
        close.activated.connect(self.close)
        self.setMinimumWidth(520)

    def show_entry(self, entry: HistoryEntry, tz: str) -> None:
        inc = entry.incident
        when = "%d/%m/%Y %H:%M"
        people = [f"{p.role.value} {who(p, full_dob=True)}" for p in entry.parties()]
        values = {
            "Ref": inc.ref,
            "Created": local(inc.created_at, tz, when),
            "Type": inc.type,
            "Grade": f"{inc.grade.value} — {inc.grade.label}",
            "Status": inc.status.label,
            "Closed": local(inc.closed_at, tz, when) if inc.closed_at else "—",
            "Location": inc.location.one_line,
            "Why listed": matched_text(entry) or "—",
            "People": "\n".join(people) or "—",
            "Weapons": "mentioned or seen" if inc.weapons else "none recorded",
            "Summary": inc.summary,
            "Rationale": inc.rationale or "—",
            "Linked": "\n".join(f"{k.ref} — {k.relation.value}: {k.reason}" for k in inc.links)
            or "—",
        }
        for name, text in values.items():
            self.fields[name].setText(text)
        self.setWindowTitle(f"{inc.ref} — past incident (read-only)")
        self.adjustSize()
