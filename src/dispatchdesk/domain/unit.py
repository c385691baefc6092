"""Units (response cars, vans, dogs, ...) and the states they move through."""

from __future__ import annotations

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
