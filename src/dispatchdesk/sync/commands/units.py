"""Unit commands (assign, divert, arrive, clear, status) and divert reviews."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dispatchdesk.domain.commands import CommandKind
from dispatchdesk.domain.incident import Divert, Incident
from dispatchdesk.domain.unit import Unit, UnitStatus
from dispatchdesk.domain.warnings import WarningRef
from dispatchdesk.protocol.schemas import (
    AssignRequest,
    ClearRequest,
    DivertRequest,
    ReviewRequest,
    UnitStatusRequest,
)
from dispatchdesk.sync.commands import Enqueue, validated
from dispatchdesk.sync.outbox import Command


class UnitCommands:
    """Mixed into :class:`~dispatchdesk.sync.engine.SyncEngine`, which sets ``_enqueue``."""

    _enqueue: Enqueue

    def assign_unit(
        self, unit: Unit, incident: Incident, warnings_passed: Sequence[WarningRef] = ()
    ) -> str:
        body, invalid = validated(
            AssignRequest, "assignment", incident_id=incident.id, **_passed(warnings_passed)
        )
        return self._unit_command(
            CommandKind.ASSIGN_UNIT,
            unit,
            incident.id,
            f"Assign {unit.callsign} to {incident.ref}{_passed_words(warnings_passed)}",
            body,
            invalid,
        )

    def divert_unit(
        self,
        unit: Unit,
        incident: Incident,
        reason: str,
        warnings_passed: Sequence[WarningRef] = (),
    ) -> str:
        body, invalid = validated(
            DivertRequest,
            "divert",
            incident_id=incident.id,
            reason=reason,
            **_passed(warnings_passed),
        )
        return self._unit_command(
            CommandKind.DIVERT_UNIT,
            unit,
            incident.id,
            f"Divert {unit.callsign} to {incident.ref}{_passed_words(warnings_passed)}",
            body,
            invalid,
        )

    def arrive_unit(self, unit: Unit) -> str:
        return self._unit_command(
            CommandKind.ARRIVE_UNIT, unit, unit.incident_id, f"{unit.callsign} at scene", {}, None
        )

    def clear_unit(self, unit: Unit, reason: str | None = None) -> str:
        body: dict[str, Any] = {}
        invalid = None
        if reason is not None:
            body, invalid = validated(ClearRequest, "clear", reason=reason)
        what = f"Clear {unit.callsign}"
        if unit.status is UnitStatus.ASSIGNED:
            what += " before it arrived"
        return self._unit_command(
            CommandKind.CLEAR_UNIT, unit, unit.incident_id, what, body, invalid
        )

    def set_unit_status(self, unit: Unit, status: UnitStatus) -> str:
        body, invalid = validated(UnitStatusRequest, "unit status", status=status)
        return self._unit_command(
            CommandKind.UNIT_STATUS, unit, None, f"{unit.callsign}: {status.label}", body, invalid
        )

    def _unit_command(
        self,
        kind: CommandKind,
        unit: Unit,
        incident_id: int | None,
        description: str,
        body: dict[str, Any],
        invalid: str | None,
    ) -> str:
        # No If-Match: the server checks the unit's state itself, and a busy unit's 409 says
        # where it is and who sent it (more use to a dispatcher than "it changed").
        return self._enqueue(
            Command(kind, incident_id, description, body, None, invalid, unit_id=unit.id)
        )

    def review_divert(self, divert: Divert, note: str) -> str:
        body, invalid = validated(ReviewRequest, "review", note=note)
        return self._enqueue(
            Command(
                CommandKind.REVIEW_DIVERT,
                divert.from_incident_id,
                f"Review divert of {divert.callsign} from {divert.from_ref}",
                body,
                None,
                invalid,
                path_args={"id": divert.id},
            )
        )


def _passed(refs: Sequence[WarningRef]) -> dict[str, Any]:
    """The ``warnings_passed`` field of an assign or divert; left out when there are none, so
    a server older than the field still takes the command."""
    if not refs:
        return {}
    return {"warnings_passed": [{"kind": r.kind, "id": r.entity_id} for r in refs]}


def _passed_words(refs: Sequence[WarningRef]) -> str:
    """ " (2 warnings passed)" for the outbox's description (ids only: no scheme text there)."""
    if not refs:
        return ""
    return f" ({len(refs)} warning{'s' if len(refs) != 1 else ''} passed)"
