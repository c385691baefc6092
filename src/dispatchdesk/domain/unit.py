"""Units (response cars, vans, dogs, ...) and the states they move through."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


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


# -- reallocation ranking ------------------------------------------------------------------


class Place(Protocol):
    """Where an incident is, as far as ranking needs it (an incident's ``Location`` fits)."""

    @property
    def borough(self) -> str: ...

    @property
    def lat(self) -> float | None: ...

    @property
    def lon(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class RankedUnit:
    """An available unit offered for an incident, with how far away it is."""

    unit: Unit
    #: Straight-line distance to the incident, when both positions are known.
    distance_km: float | None
    #: The unit's borough is the incident's (the only hint when the distance is unknown).
    same_borough: bool


#: Mean Earth radius (IUGG), km: more than precise enough to order units across a city.
_EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS84 points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _distance(unit: Unit, place: Place) -> float | None:
    if unit.lat is None or unit.lon is None or place.lat is None or place.lon is None:
        return None
    return haversine_km(unit.lat, unit.lon, place.lat, place.lon)


def _same_borough(a: str, b: str) -> bool:
    return bool(a.strip()) and a.strip().casefold() == b.strip().casefold()


def _rank_key(ranked: RankedUnit) -> tuple[int, float, str, int]:
    # Units with a distance come first, nearest first; the rest only have the borough to go
    # on, so the incident's own borough first. The callsign (then id) makes the order stable.
    callsign = ranked.unit.callsign.casefold()
    if ranked.distance_km is not None:
        return (0, ranked.distance_km, callsign, ranked.unit.id)
    return (1 if ranked.same_borough else 2, 0.0, callsign, ranked.unit.id)


def rank_for_incident(units: Iterable[Unit], place: Place) -> list[RankedUnit]:
    """The AVAILABLE units for an incident at ``place``, best candidate first.

    Nearest first (straight-line distance) where both positions are known; then units without a
    distance, those in the incident's borough first; ties by callsign.
    """
    ranked = [
        RankedUnit(unit, _distance(unit, place), _same_borough(unit.borough, place.borough))
        for unit in units
        if unit.status is UnitStatus.AVAILABLE
    ]
    ranked.sort(key=_rank_key)
    return ranked
