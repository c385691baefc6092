"""The history beside the new-incident form: asked for as soon as a location or a person is
entered (once typing pauses), shown without taking the keyboard from the field being typed
in; F3 moves the keyboard there and Esc brings it back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtWidgets import QBoxLayout, QLineEdit, QWidget

from dispatchdesk.domain.warnings import Person, Place
from dispatchdesk.gui.history.loader import HistoryLoader
from dispatchdesk.gui.history.panel import HistoryPanel
from dispatchdesk.sync.api import HistorySource

#: The form's location and people as typed so far.
Question = Callable[[], tuple[Place | None, Sequence[Person]]]


class FormHistory:
    """The form's history panel (hidden until there is something to ask) and its loader."""

    def __init__(
        self,
        form: QWidget,
        column: QBoxLayout,
        source: HistorySource | None,
        tz: Callable[[], str],
        question: Question,
        now: Callable[[], datetime],
    ) -> None:
        self._form = form
        self._question = question
        self.panel = HistoryPanel(None, tz=tz(), parent=form, defer_links=True)
        self.panel.hide()
        # Wide enough to read a line in two or three rows: the form grows when it appears.
        self.panel.setMinimumWidth(self.panel.fontMetrics().averageCharWidth() * 52)
        column.addWidget(self.panel, 3)
        self.loader = HistoryLoader(self.panel, source, tz, now=now)

    def watch(self, *edits: QLineEdit) -> None:
        """Typing in these asks again (once it pauses)."""
        for edit in edits:
            edit.textEdited.connect(lambda _text: self.changed())

    def changed(self) -> None:
        if not self._form.isVisible():
            return  # sent or cancelled: nothing more to ask
        place, people = self._question()
        self.loader.ask_form(place, people)

    def stop(self) -> None:
        self.loader.cancel()
