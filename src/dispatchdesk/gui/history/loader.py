"""Asks for history off the GUI thread and shows the answer in a :class:`HistoryPanel`.

The question goes to a :class:`~dispatchdesk.sync.api.HistorySource` (the sync engine) as a
task on the asyncio loop (qasync: the GUI thread's loop, whose network and cache calls never
block it). One question at a time: a newer one cancels an older one, and an answer to a
question no longer asked is dropped. Typing settles first (:attr:`HistoryLoader.SETTLE_MS`),
so a lookup is not sent at every key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QObject, QTimer

from dispatchdesk.domain.commands import ConnectionInfo, ConnectionState
from dispatchdesk.domain.history import LinkRelation
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.warnings import Person, Place
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.gui.history.entries import (
    HistoryEntry,
    HistoryPicture,
    Match,
    MatchedOn,
    Party,
    merge,
)
from dispatchdesk.gui.history.panel import HistoryPanel
from dispatchdesk.protocol.convert import incident_from_wire
from dispatchdesk.protocol.history import HistoryEntry as WireEntry
from dispatchdesk.protocol.history import HistoryMatch
from dispatchdesk.protocol.schemas import IncidentPersonModel
from dispatchdesk.sync.api import HistoryResult, HistorySource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Question:
    """What is asked, and how to word the answer's summary."""

    key: object
    ask: Callable[[], Awaitable[HistoryResult]]
    location_asked: bool
    subjects: tuple[Party, ...]


class HistoryLoader(QObject):
    """Feeds one panel. ``source`` None: this desk cannot ask (the panel says so)."""

    #: How long typing must pause before the form's history is asked for.
    SETTLE_MS = 700

    def __init__(
        self,
        panel: HistoryPanel,
        source: HistorySource | None,
        tz: Callable[[], str],
        settle_ms: int | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(panel)
        self.panel = panel
        self._source = source
        self._tz = tz
        #: Server time: an answer from another day says its date, not only its time.
        self._now = now
        self._task: asyncio.Future[None] | None = None
        self._question: _Question | None = None
        self._waiting: _Question | None = None
        #: The last answer was not fresh (offline, refused): asked again when back online.
        self.stale = False
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(self.SETTLE_MS if settle_ms is None else settle_ms)
        self.timer.timeout.connect(self._ask_waiting)
        panel.refresh_requested.connect(self.ask_again)
        panel.destroyed.connect(lambda *_: self.cancel())

    @property
    def busy(self) -> bool:
        return self.timer.isActive() or (self._task is not None and not self._task.done())

    # -- questions -------------------------------------------------------------------------

    def ask_form(self, place: Place | None, persons: Sequence[Person]) -> None:
        """The form's location and people as typed so far (asked once typing settles)."""
        people = tuple(persons)
        if place is None and not people:
            self.cancel()
            self._question = None
            self.panel.show_idle("History shows once a location or a person is entered.")
            return
        source = self._source
        question = _Question(
            ("form", place, people),
            (lambda: source.history(place, people)) if source is not None else _no_answer,
            place is not None,
            tuple(Party(p.name, p.dob) for p in people),
        )
        self._settle(question)

    def ask_incident(self, incident: Incident | None, *, settle: bool = True) -> None:
        """The incident's history (its location, everyone on it, its links); ``settle``:
        wait a moment first (the operator may be moving through the queue)."""
        if incident is None:
            self.cancel()
            self._question = None
            self.panel.show_idle("Select an incident to see its history.")
            return
        source, incident_id = self._source, incident.id
        people = [Party(p.name, p.dob) for p in incident.persons]
        if incident.caller.name:
            people.insert(0, Party(incident.caller.name, incident.caller.dob))
        question = _Question(
            ("incident", incident_id),
            (lambda: source.incident_history(incident_id)) if source is not None else _no_answer,
            True,
            tuple(dict.fromkeys(people)),
        )
        if question.key == (self._question.key if self._question else None) and not self.stale:
            return  # the same incident, updated: its history is on screen
        if settle:
            self._settle(question)
        else:
            self._waiting = question
            self._ask_waiting()

    def ask_again(self) -> None:
        """Check again (the button, or the connection came back)."""
        if self._question is not None:
            self._waiting = self._question
            self._ask_waiting()

    def back_online(self) -> None:
        if self.stale:
            self.ask_again()

    def on_connection(self, info: ConnectionInfo) -> None:
        """The connection changed: an answer that was not fresh is asked for again once
        the server is back."""
        if info.state is ConnectionState.ONLINE:
            self.back_online()

    def cancel(self) -> None:
        self.timer.stop()
        self._waiting = None
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    def _settle(self, question: _Question) -> None:
        if self._question is not None and question.key == self._question.key and not self.stale:
            self.timer.stop()  # already answered (or being answered)
            self._waiting = None
            return
        self._waiting = question
        self.timer.start()

    def _ask_waiting(self) -> None:
        question = self._waiting
        self._waiting = None
        self.timer.stop()
        if question is None:
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._question = question
        self.panel.show()
        if self._source is None:  # nothing to ask: said at once, no task
            self.stale = False
            self.panel.show_problem(NO_SOURCE, keep=False)
            return
        self.panel.show_loading()
        fetch = self._fetch(question)
        try:
            self._task = asyncio.ensure_future(fetch)
        except RuntimeError as exc:  # no asyncio loop at all: say so, do not crash
            fetch.close()
            self.panel.show_problem(f"History could not be checked: {exc}.")

    async def _fetch(self, question: _Question) -> None:
        try:
            result = await question.ask()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure is said; the panel keeps what it had
            log.exception("history lookup failed")
            result = HistoryResult(problem=f"History could not be checked: {exc}.")
        if question is not self._question:
            return  # a newer question was asked meanwhile
        self.show_result(result, question)

    # -- answers ---------------------------------------------------------------------------

    def show_result(self, result: HistoryResult, question: _Question) -> None:
        panel = self.panel
        self.stale = result.problem is not None
        if not result.pages:
            panel.show_problem(result.problem or "No answer.", keep=False)
            return
        picture = picture_from(result, question.location_asked, question.subjects)
        hhmm = self._hhmm(result.as_of or picture.server_time)
        if result.cached:
            note = f"As of {hhmm}: {result.problem or 'from this desk’s cache.'}"
            panel.show_picture(picture, note=note, stale=True)
        elif result.problem:
            panel.show_picture(picture, note=result.problem, stale=True)
        else:
            panel.show_picture(picture, note=f"Checked with the server at {hhmm}.")

    def _hhmm(self, when: datetime) -> str:
        tz = self._tz()
        same_day = local(when, tz, "%Y%m%d") == local(self._now(), tz, "%Y%m%d")
        return local(when, tz, "%H:%M" if same_day else "%d/%m/%Y %H:%M")


NO_SOURCE = "This desk cannot check history (it has no server to ask)."


async def _no_answer() -> HistoryResult:
    return HistoryResult(problem=NO_SOURCE)


# --- wire → plain data ---------------------------------------------------------------------


def picture_from(
    result: HistoryResult, location_asked: bool, subjects: Sequence[Party]
) -> HistoryPicture:
    """The pages of one question as one picture: entries merged, most recent first."""
    pages = result.pages
    entries = merge([_entry(e) for page in pages for e in page.incidents])
    return HistoryPicture(
        entries=tuple(entries),
        server_time=max(p.server_time for p in pages),
        since=min(p.since for p in pages),
        truncated=any(p.truncated for p in pages),
        location_asked=location_asked,
        subjects=tuple(subjects),
    )


def _entry(wire: WireEntry) -> HistoryEntry:
    matches = wire.matches or [
        HistoryMatch(
            matched_on=wire.matched_on,
            match=wire.match,
            possible=wire.possible,
            person=wire.person,
            query_person=wire.query_person,
        )
    ]
    return HistoryEntry(incident_from_wire(wire.incident), tuple(_match(m) for m in matches))


def _match(m: HistoryMatch) -> Match:
    on = MatchedOn(m.matched_on)
    relation = None
    if on is MatchedOn.LINK and m.match in LinkRelation.__members__:
        relation = LinkRelation(m.match)
    return Match(
        on=on,
        how=m.match,
        possible=m.possible,
        person=_party(m.person),
        subject=_party(m.query_person),
        relation=relation,
    )


def _party(m: IncidentPersonModel | None) -> Party | None:
    return None if m is None else Party(m.name, m.dob, m.role)
