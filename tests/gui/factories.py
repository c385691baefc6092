"""Test data and a recording fake of DeskCommands (the GUI's boundary)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.drafts import FormDraft
from dispatchdesk.domain.grades import DEFAULT_POLICY, Grade
from dispatchdesk.domain.history import LinkRelation
from dispatchdesk.domain.incident import Caller, Divert, Incident, IncidentStatus, Location
from dispatchdesk.domain.tasks import Task
from dispatchdesk.domain.unit import Unit, UnitStatus
from dispatchdesk.domain.warnings import VictimContactOutcome, WarningRef
from dispatchdesk.protocol.notices import NoticeCreate, NoticeOut
from dispatchdesk.protocol.warnings import SchemeOut
from dispatchdesk.sync.api import IncidentDraft

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from dispatchdesk.domain.roles import Role
    from dispatchdesk.gui.queue.window import QueueWindow

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def make_incident(
    incident_id: int | None = None,
    *,
    grade: Grade = Grade.IMMEDIATE,
    created_at: datetime = T0,
    status: IncidentStatus = IncidentStatus.OPEN,
    borough: str = "Camden",
    type: str = "Domestic",
    summary: str = "Shouting heard next door",
    address: str = "12 High Street",
    postcode: str = "NW1 7AA",
    **changes: object,
) -> Incident:
    iid = incident_id if incident_id is not None else next(_ids)
    incident = Incident(
        id=iid,
        ref=f"CAD {iid}/23NOV26",
        version=1,
        grade=grade,
        status=status,
        created_at=created_at,
        deadline=DEFAULT_POLICY.deadline(grade, created_at),
        type=type,
        summary=summary,
        location=Location(address=address, postcode=postcode, borough=borough, uprn="100023"),
        caller=Caller(name="A Caller", phone="07700900000"),
        original_grade=grade,
    )
    return incident.with_changes(**changes) if changes else incident


def make_unit(
    unit_id: int,
    callsign: str | None = None,
    *,
    kind: str = "IRV",
    borough: str = "Camden",
    status: UnitStatus = UnitStatus.AVAILABLE,
    incident_id: int | None = None,
    status_since: datetime = T0,
    lat: float | None = None,
    lon: float | None = None,
    version: int = 1,
) -> Unit:
    return Unit(
        id=unit_id,
        callsign=callsign or f"LX{unit_id:02d}",
        kind=kind,
        borough=borough,
        status=status,
        incident_id=incident_id,
        status_since=status_since,
        version=version,
        lat=lat,
        lon=lon,
    )


def clock() -> FakeClock:
    return FakeClock(T0)


@dataclass
class RecordingCommands:
    """Records every DeskCommands call as (name, args)."""

    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    #: Command id of each assign or divert → the warnings it said were passed to the unit.
    warnings_passed: dict[str, tuple[WarningRef, ...]] = field(default_factory=dict)
    _n: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    #: Every save_form_draft call: (form, draft or None).
    drafts: list[tuple[str, FormDraft | None]] = field(default_factory=list)

    def _record(self, name: str, *args: object) -> str:
        self.calls.append((name, args))
        return f"cmd-{next(self._n)}"

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def create_incident(self, draft: IncidentDraft) -> str:
        return self._record("create_incident", draft)

    def regrade(self, incident: Incident, grade: Grade, reason: str | None = None) -> str:
        return self._record("regrade", incident, grade, reason)

    def change_status(self, incident: Incident, status: IncidentStatus) -> str:
        return self._record("change_status", incident, status)

    def edit_summary(self, incident: Incident, summary: str) -> str:
        return self._record("edit_summary", incident, summary)

    def close(self, incident: Incident, rationale: str, override_open_tasks: bool = False) -> str:
        if override_open_tasks:
            return self._record("close", incident, rationale, "override_open_tasks")
        return self._record("close", incident, rationale)

    def task_done(self, incident: Incident, task: Task, outcome: str) -> str:
        return self._record("task_done", incident, task, outcome)

    def task_not_done(self, incident: Incident, task: Task, reason: str) -> str:
        return self._record("task_not_done", incident, task, reason)

    def link_incident(
        self, incident: Incident, other: Incident, relation: LinkRelation, reason: str
    ) -> str:
        return self._record("link_incident", incident, other, relation, reason)

    def unlink_incident(
        self, incident: Incident, other_id: int, other_ref: str, reason: str
    ) -> str:
        return self._record("unlink_incident", incident, other_id, other_ref, reason)

    def assign_unit(
        self, unit: Unit, incident: Incident, warnings_passed: Sequence[WarningRef] = ()
    ) -> str:
        return self._passing(self._record("assign_unit", unit, incident), warnings_passed)

    def divert_unit(
        self,
        unit: Unit,
        incident: Incident,
        reason: str,
        warnings_passed: Sequence[WarningRef] = (),
    ) -> str:
        return self._passing(self._record("divert_unit", unit, incident, reason), warnings_passed)

    def _passing(self, command_id: str, refs: Sequence[WarningRef]) -> str:
        self.warnings_passed[command_id] = tuple(refs)
        return command_id

    def arrive_unit(self, unit: Unit) -> str:
        return self._record("arrive_unit", unit)

    def clear_unit(self, unit: Unit, reason: str | None = None) -> str:
        return self._record("clear_unit", unit, reason)

    def set_unit_status(self, unit: Unit, status: UnitStatus) -> str:
        return self._record("set_unit_status", unit, status)

    def review_divert(self, divert: Divert, note: str) -> str:
        return self._record("review_divert", divert, note)

    def approve_downgrade(self, incident: Incident, note: str) -> str:
        return self._record("approve_downgrade", incident, note)

    def reject_downgrade(self, incident: Incident, note: str) -> str:
        return self._record("reject_downgrade", incident, note)

    def extend_scheme(self, scheme: SchemeOut, expires_at: datetime, note: str | None) -> str:
        return self._record("extend_scheme", scheme, expires_at, note)

    def end_scheme(
        self, scheme: SchemeOut, reason: str, override_rationale: str | None = None
    ) -> str:
        if override_rationale is None:
            return self._record("end_scheme", scheme, reason)
        return self._record("end_scheme", scheme, reason, override_rationale)

    def request_scheme_review(self, scheme: SchemeOut, note: str | None) -> str:
        return self._record("request_scheme_review", scheme, note)

    def scheme_victim_informed(self, scheme: SchemeOut, at: datetime | None) -> str:
        return self._record("scheme_victim_informed", scheme, at)

    def scheme_victim_contact(
        self,
        scheme: SchemeOut,
        outcome: VictimContactOutcome,
        at: datetime | None,
        note: str | None,
    ) -> str:
        return self._record("scheme_victim_contact", scheme, outcome, at, note)

    def warning_shown(self, incident_id: int, ref: WarningRef) -> None:
        self._record("warning_shown", incident_id, ref)

    def acknowledge_warning(self, incident_id: int, ref: WarningRef) -> None:
        self._record("acknowledge_warning", incident_id, ref)

    def read_notice(self, notice: NoticeOut) -> None:
        self._record("read_notice", notice)

    def post_notice(self, notice: NoticeCreate) -> str:
        return self._record("post_notice", notice)

    def retry(self, command_id: str) -> None:
        self._record("retry", command_id)

    def discard(self, command_id: str) -> None:
        self._record("discard", command_id)

    def save_form_draft(self, form: str, draft: FormDraft | None) -> None:
        """Kept apart from ``calls`` (a draft is saved as the form is typed in)."""
        self.drafts.append((form, draft))


def open_queue_window(
    qtbot: Any, commands: RecordingCommands, settings: QSettings, fake_clock: FakeClock, role: Role
) -> QueueWindow:
    """A queue window shown, active, and big enough for every column."""
    from dispatchdesk.gui.queue.window import QueueWindow  # Qt only for the tests that show it

    window = QueueWindow(commands, role, fake_clock.now, "jsmith", settings)
    qtbot.addWidget(window)
    window.resize(1400, 800)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    qtbot.waitUntil(window.isActiveWindow)
    return window


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
