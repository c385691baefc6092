"""Ranking available units for an incident: nearest first, then by borough, then callsign."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatchdesk.domain.incident import Location
from dispatchdesk.domain.unit import RankedUnit, Unit, UnitStatus, haversine_km, rank_for_incident

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# Camden Town station; the incident is here when it has a position.
HERE = (51.5392, -0.1426)


def unit(
    uid: int,
    callsign: str,
    *,
    borough: str = "Camden",
    status: UnitStatus = UnitStatus.AVAILABLE,
    at: tuple[float, float] | None = None,
) -> Unit:
    lat, lon = at if at is not None else (None, None)
    incident_id = 99 if status.on_incident else None
    return Unit(uid, callsign, "IRV", borough, status, incident_id, T0, 1, lat, lon)


def place(borough: str = "Camden", at: tuple[float, float] | None = HERE) -> Location:
    lat, lon = at if at is not None else (None, None)
    return Location("1 Camden High St", "NW1 7JE", borough, lat=lat, lon=lon)


def callsigns(ranked: list[RankedUnit]) -> list[str]:
    return [r.unit.callsign for r in ranked]


def test_haversine_known_distances() -> None:
    assert haversine_km(*HERE, *HERE) == 0.0
    # London (Charing Cross) to Paris (Notre-Dame): about 343.5 km.
    assert haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.5, abs=1.0)
    # One degree of latitude is ~111.2 km everywhere.
    assert haversine_km(51.0, 0.0, 52.0, 0.0) == pytest.approx(111.2, abs=0.1)


def test_only_available_units_nearest_first() -> None:
    units = [
        unit(1, "LX03", at=(51.5592, -0.1426)),  # ~2.2 km north
        unit(2, "LX01", at=(51.5492, -0.1426)),  # ~1.1 km north
        unit(3, "LX02", status=UnitStatus.ASSIGNED, at=HERE),
        unit(4, "LX04", status=UnitStatus.COMMITTED, at=HERE),
        unit(5, "LX05", status=UnitStatus.OFF_DUTY, at=HERE),
        unit(6, "LX06", status=UnitStatus.AT_SCENE, at=HERE),
    ]
    ranked = rank_for_incident(units, place())
    assert callsigns(ranked) == ["LX01", "LX03"]
    assert ranked[0].distance_km == pytest.approx(1.11, abs=0.01)
    assert ranked[1].distance_km == pytest.approx(2.22, abs=0.01)
    assert all(r.same_borough for r in ranked)


def test_units_without_a_distance_come_after_same_borough_first_then_callsign() -> None:
    units = [
        unit(1, "ZZ9", borough="Hackney"),
        unit(2, "AB1", borough="Hackney"),
        unit(3, "MM5", borough="camden "),  # borough compared loosely
        unit(4, "CC2", borough="Camden"),
        unit(5, "FAR", borough="Hackney", at=(51.5450, -0.0553)),  # ~6 km east, but known
    ]
    ranked = rank_for_incident(units, place())
    assert callsigns(ranked) == ["FAR", "CC2", "MM5", "AB1", "ZZ9"]
    assert [r.same_borough for r in ranked] == [False, True, True, False, False]
    assert [r.distance_km is None for r in ranked] == [False, True, True, True, True]


def test_incident_without_a_position_ranks_by_borough_and_callsign() -> None:
    units = [unit(1, "LX2", at=HERE), unit(2, "LX1", borough="Islington", at=HERE), unit(3, "LX3")]
    ranked = rank_for_incident(units, place(at=None))
    assert callsigns(ranked) == ["LX2", "LX3", "LX1"]
    assert all(r.distance_km is None for r in ranked)


def test_equal_distances_fall_back_to_callsign_and_empty_input() -> None:
    units = [unit(1, "b2", at=HERE), unit(2, "A1", at=HERE)]
    assert callsigns(rank_for_incident(units, place())) == ["A1", "b2"]
    assert rank_for_incident([], place()) == []
