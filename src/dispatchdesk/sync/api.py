"""The seam between the sync engine and whatever shows its state (the Qt GUI, tests).

The engine calls a :class:`DeskListener` on the event-loop thread (the GUI thread under
qasync); the GUI calls :class:`DeskCommands`, whose methods return at once (the work happens
on the loop and on the cache's worker thread) and report back through the listener.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.commands import ConnectionInfo, PendingCommand
from dispatchdesk.domain.drafts import FormDraft
from dispatchdesk.domain.grades import Grade, GradePolicy
from dispatchdesk.domain.history import LinkRelation
from dispatchdesk.domain.incident import Caller, Divert, Incident, IncidentStatus, Location
from dispatchdesk.domain.tasks import Task
from dispatchdesk.domain.unit import Unit, UnitStatus
from dispatchdesk.domain.warnings import Person, Place, VictimContactOutcome, WarningRef
from dispatchdesk.protocol.history import HistoryPage
from dispatchdesk.protocol.notices import NoticeCreate, NoticeOut
from dispatchdesk.protocol.warnings import SchemeOut

__all__ = [
    "Acknowledgements",
    "DeskCommands",
    "DeskListener",
    "DraftLink",
    "HistoryResult",
    "HistorySource",
    "IncidentDraft",
    "WarningIndex",
]

#: (incident id, warning) pairs this operator has acknowledged.
Acknowledgements = frozenset[tuple[int, WarningRef]]


@dataclass(frozen=True)
class DraftLink:
    """A link the call handler asked for in the new-incident form, made once the server has
    given the new incident its id (the other incident is ``incident_id``, ``ref``)."""

    incident_id: int
    ref: str
    relation: LinkRelation
    reason: str


@dataclass(frozen=True)
class IncidentDraft:
    """What a call handler entered in the new-incident form."""

    grade: Grade
    type: str
    summary: str
    location: Location
    caller: Caller = field(default_factory=Caller)
    appointment_at: datetime | None = None
    #: People named on the incident (subject, victim, ...), matched against protective orders;
    #: each with a role (``IncidentPerson``; a plain ``Person`` is sent as OTHER).
    persons: tuple[Person, ...] = ()
    #: Warnings the warning panel showed for this location, and those the operator
    #: acknowledged, before the incident existed: audited once the server has given it an id.
    shown_warnings: tuple[WarningRef, ...] = ()
    acknowledged_warnings: tuple[WarningRef, ...] = ()
    #: Weapons mentioned or seen (the form's tick).
    weapons: bool = False
    #: Links to earlier incidents chosen in the form's history, made once it has an id.
    links: tuple[DraftLink, ...] = ()


@dataclass(frozen=True)
class HistoryResult:
    """History as the panel shows it: the server's pages (one per lookup: the location, then
    each person), and where they come from."""

    pages: tuple[HistoryPage, ...] = ()
    #: Server time of the answer (from the cache: when the server gave it).
    as_of: datetime | None = None
    #: From this desk's cache: the server could not be asked.
    cached: bool = False
    #: Why there is no fresh answer (offline, refused ...), in words; None when fresh.
    problem: str | None = None


class HistorySource(Protocol):
    """Where the history panel asks (the sync engine). Coroutines: the network is async and
    the cache is read on its worker thread, never on the GUI thread."""

    async def history(self, place: Place | None, persons: Sequence[Person]) -> HistoryResult:
        """Earlier incidents at ``place`` and involving each of ``persons`` (the form)."""
        ...

    async def incident_history(self, incident_id: int) -> HistoryResult:
        """An incident's history (its location, everyone on it, its links); offline, the last
        answer this desk holds for it."""
        ...


class DeskListener(Protocol):
    def on_state(self, incidents: Sequence[Incident], policy: GradePolicy) -> None:
        """Replace everything shown: at start from the cache, and after each snapshot."""

    def on_changes(self, upserts: Sequence[Incident], removed: Sequence[int]) -> None:
        """A coalesced batch of changes from the feed (already committed to the cache)."""

    def on_connection(self, info: ConnectionInfo) -> None:
        """Online / connecting / offline, with the age of the data."""

    def on_commands(self, commands: Sequence[PendingCommand]) -> None:
        """Every command not yet confirmed (queued, sent, failed, held), oldest first."""

    def on_problem(self, message: str) -> None:
        """Something the operator should read now (malformed payload, refused command ...)."""

    def on_signed_out(self, message: str) -> None:
        """The server no longer accepts the session (401: token expired or revoked); the
        engine keeps retrying and picks up a new sign-in on the same client. Called instead
        of :meth:`on_problem` for it; ``message`` says so in words."""

    def on_units(self, units: Sequence[Unit], removed: Sequence[int], reset: bool) -> None:
        """Units changed (``reset``: ``units`` is now the whole fleet, replacing what was shown)."""

    def on_warnings(self, index: WarningIndex, acknowledged: Acknowledgements) -> None:
        """Schemes, orders or acknowledgements changed. ``index`` is the engine's live index
        (query it on the GUI thread, never keep results across calls)."""

    def on_notices(self, notices: Sequence[NoticeOut], reads: Mapping[int, datetime]) -> None:
        """Operational notices changed, or this operator read one: every live notice (for
        every role; the screen shows those for its operator's role) and when this operator
        read each they have read."""


class DeskCommands(Protocol):
    """Operator actions. Each returns the command id (its Idempotency-Key) at once."""

    def create_incident(self, draft: IncidentDraft) -> str: ...

    def regrade(self, incident: Incident, grade: Grade, reason: str | None = None) -> str: ...

    def change_status(self, incident: Incident, status: IncidentStatus) -> str: ...

    def edit_summary(self, incident: Incident, summary: str) -> str: ...

    def close(self, incident: Incident, rationale: str, override_open_tasks: bool = False) -> str:
        """Close with a rationale; ``override_open_tasks``: a supervisor closing with tasks for
        the attending officers still open (the rationale says why)."""
        ...

    def task_done(self, incident: Incident, task: Task, outcome: str) -> str:
        """Record a task for the attending officers done, with what was found."""
        ...

    def task_not_done(self, incident: Incident, task: Task, reason: str) -> str:
        """Record a task not done, with why (checked like a rationale)."""
        ...

    def link_incident(
        self, incident: Incident, other: Incident, relation: LinkRelation, reason: str
    ) -> str:
        """Link ``incident`` to ``other`` (which gets the inverse relation), with a reason."""
        ...

    def unlink_incident(
        self, incident: Incident, other_id: int, other_ref: str, reason: str
    ) -> str: ...

    # --- units (dispatchers and supervisors) ---

    def assign_unit(
        self, unit: Unit, incident: Incident, warnings_passed: Sequence[WarningRef] = ()
    ) -> str:
        """Send ``unit``; ``warnings_passed``: the incident's warnings the unit was told of
        (recorded with the assignment)."""
        ...

    def divert_unit(
        self,
        unit: Unit,
        incident: Incident,
        reason: str,
        warnings_passed: Sequence[WarningRef] = (),
    ) -> str:
        """Move ``unit`` off the incident it is on to ``incident``; the one it left is owed."""
        ...

    def arrive_unit(self, unit: Unit) -> str: ...

    def clear_unit(self, unit: Unit, reason: str | None = None) -> str:
        """Free ``unit``. One that has not arrived needs ``reason``; if it is the last unit on
        its incident, the incident is tagged WITHDRAWN and owed, like a divert."""
        ...

    def set_unit_status(self, unit: Unit, status: UnitStatus) -> str: ...

    def review_divert(self, divert: Divert, note: str) -> str:
        """QA review of a DIVERT tag (supervisors)."""
        ...

    # --- downgrade requests (supervisors) ---

    def approve_downgrade(self, incident: Incident, note: str) -> str:
        """Apply the incident's waiting downgrade request (from the original call time)."""
        ...

    def reject_downgrade(self, incident: Incident, note: str) -> str:
        """Refuse the incident's waiting downgrade request; the grade stays."""
        ...

    # --- schemes (supervisors) ---

    def extend_scheme(self, scheme: SchemeOut, expires_at: datetime, note: str | None) -> str: ...

    def end_scheme(
        self, scheme: SchemeOut, reason: str, override_rationale: str | None = None
    ) -> str:
        """``override_rationale``: a supervisor ending it although the victim has not been
        told of the removal and no failed attempt is recorded."""
        ...

    def request_scheme_review(self, scheme: SchemeOut, note: str | None) -> str: ...

    def scheme_victim_informed(self, scheme: SchemeOut, at: datetime | None) -> str: ...

    def scheme_victim_contact(
        self,
        scheme: SchemeOut,
        outcome: VictimContactOutcome,
        at: datetime | None,
        note: str | None,
    ) -> str:
        """Add to the scheme's victim contact log: told, or a failed attempt."""
        ...

    # --- warnings (everyone) ---

    def warning_shown(self, incident_id: int, ref: WarningRef) -> None:
        """Audit that the warning panel showed ``ref`` for the incident (queued, never lost)."""

    def acknowledge_warning(self, incident_id: int, ref: WarningRef) -> None:
        """Record the operator's acknowledgement locally at once and audit it on the server."""

    # --- notices ---

    def read_notice(self, notice: NoticeOut) -> None:
        """Record locally at once that the operator has read (acknowledged) ``notice``, and send
        the receipt (queued, never lost)."""

    def post_notice(self, notice: NoticeCreate) -> str:
        """Post an operational notice (supervisors)."""
        ...

    # --- form drafts ---

    def save_form_draft(self, form: str, draft: FormDraft | None) -> None:
        """Keep what the form ``form`` holds in the cache (``None``: drop it), off the GUI
        thread, in call order. A create from the new-incident form drops its draft itself,
        in the transaction that queues it."""

    def retry(self, command_id: str) -> None:
        """Send a FAILED or HELD command again (a HELD one only on the operator's say-so)."""

    def discard(self, command_id: str) -> None:
        """Drop a FAILED or HELD command the operator has read."""
