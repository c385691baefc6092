"""The warnings the new-incident form shows before the incident exists: a
:class:`~dispatchdesk.gui.warnings.panel.WarningPanel` embedded beside the fields (made on first
use), the note above the buttons counting those not yet acknowledged, and what was shown and
acknowledged (audited once the incident has an id)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtWidgets import QBoxLayout, QLabel, QWidget

from dispatchdesk.domain.warnings import WarningPolicy, WarningRef
from dispatchdesk.gui.warnings.panel import PlaySound, WarningPanel
from dispatchdesk.gui.warnings.texts import warning_ref
from dispatchdesk.protocol.warnings import WarningView

#: Moves the keyboard to the warnings shown beside the form (and in the queue, with Ctrl+W).
WARNINGS_KEY = "F4"


class FormWarnings:
    """The form's warning pane and its note. ``columns`` is the form's row of columns (the
    pane goes beside the fields, so nothing the operator is looking at moves)."""

    def __init__(
        self,
        form: QWidget,
        columns: QBoxLayout,
        now: Callable[[], datetime],
        policy: WarningPolicy,
        play_sound: PlaySound | None,
    ) -> None:
        self._form = form
        self._columns = columns
        self._now = now
        self.policy = policy
        self._play_sound = play_sound
        self._panel: WarningPanel | None = None
        self.shown: set[WarningRef] = set()
        self.acknowledged: set[WarningRef] = set()
        #: "⚠ 1 warning not yet acknowledged ...": in sight while any is left.
        self.note = QLabel()
        self.note.setProperty("role", "error")
        self.note.setWordWrap(True)
        font = self.note.font()
        font.setBold(True)
        self.note.setFont(font)
        self.note.hide()

    @property
    def existing_panel(self) -> WarningPanel | None:
        return self._panel

    @property
    def panel(self) -> WarningPanel:
        """The warnings beside the fields (made on first use; part of the form)."""
        if self._panel is None:
            panel = WarningPanel(
                self._now,
                self.policy,
                parent=self._form,
                embedded=True,
                play_sound=self._play_sound,
            )
            panel.hide()
            panel.shown.connect(self._panel_shown)
            panel.acknowledged.connect(self._panel_acknowledged)
            self._columns.addWidget(panel, 2)
            self._panel = panel
        return self._panel

    def _panel_shown(self, _incident_id: int | None, refs: list[WarningRef]) -> None:
        self.shown.update(refs)
        self.refresh_note()

    def _panel_acknowledged(self, _incident_id: int | None, ref: WarningRef) -> None:
        self.acknowledged.add(ref)
        self.refresh_note()

    def unacknowledged(self) -> list[WarningRef]:
        """The warnings on show that the operator has not acknowledged yet."""
        return self._panel.unacknowledged() if self._panel is not None else []

    def is_showing(self) -> bool:
        return self._panel is not None and self._panel.isVisible()

    def show(self, title: str, found: Sequence[WarningView]) -> None:
        """Pop the pane for warnings not shown before; otherwise follow without popping (same
        warnings or fewer: the address was corrected; none left: the pane goes)."""
        if not found and self._panel is None:
            return
        panel = self.panel
        if found and ({warning_ref(w) for w in found} - self.shown or not panel.isVisible()):
            panel.show_for(title, None, found, self.acknowledged)
        else:
            panel.set_title(title)
            panel.update_warnings(found, self.acknowledged)
        self.refresh_note()

    def refresh_note(self, *, refused: bool = False) -> None:
        left = len(self.unacknowledged())
        noun = "warning" if left == 1 else "warnings"
        if refused:
            text = (
                f"⚠ Acknowledge the {left} {noun} first ({WARNINGS_KEY}): the incident "
                "is not created until you do."
            )
        else:
            text = (
                f"⚠ {left} {noun} not yet acknowledged: press {WARNINGS_KEY} to read "
                f"and acknowledge {'it' if left == 1 else 'them'}."
            )
        self.note.setText(text if left else "")
        self.note.setVisible(bool(left))
        self.note.setAccessibleName(text if left else "")
