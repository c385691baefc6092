"""Units (response cars, vans, dogs, ...) and the states they move through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class UnitStatus(StrEnum):
    """Where a unit is. ASSIGNED and AT_SCENE always name the one incident the unit is on."""

    AVAILABLE = "AVAILABLE"
    ASSIGNED = "ASSIGNED"  # en route to its incident
    AT_SCENE = "AT_SCENE"
    COMMITTED = "COMMITTED"  # busy elsewhere (custody, hospital, report writing)
    OFF_DUTY = "OFF_DUTY"

    @property
    def on_incident(self) -> bool:
        return self in (UnitStatus.ASSIGNED, UnitStatus.AT_SCENE)

    @property
    def label(self) -> str:
        return _LABEL[self]


_LABEL = {
    UnitStatus.AVAILABLE: "Available",
    UnitStatus.ASSIGNED: "En route",
    UnitStatus.AT_SCENE: "At scene",
    UnitStatus.COMMITTED: "Committed",
    UnitStatus.OFF_DUTY: "Off duty",
}

#: States a unit may be put in by a plain status change (not assign/divert/arrive/clear).
FREE_STATES: frozenset[UnitStatus] = frozenset(
    {UnitStatus.AVAILABLE, UnitStatus.COMMITTED, UnitStatus.OFF_DUTY}
)


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit as the client shows it (from the server's ``UnitOut``)."""

    id: int
    callsign: str
    #: IRV, area car, van, dog, ... (free text: forces name them differently).
    kind: str
    borough: str
    status: UnitStatus
    #: The incident the unit is on (ASSIGNED or AT_SCENE), else None.
    incident_id: int | None
    #: When the unit entered ``status`` (server time): "time in status" counts from it.
    status_since: datetime
    version: int
    lat: float | None = None
    lon: float | None = None
