from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatchdesk.domain.grades import Grade
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.protocol.schemas import IncidentOut, LocationModel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def make_incident(
    i: int,
    *,
    version: int = 1,
    status: IncidentStatus = IncidentStatus.OPEN,
    closed_at: datetime | None = None,
    created_at: datetime = NOW - timedelta(minutes=5),
) -> IncidentOut:
    return IncidentOut(
        id=i,
        ref=f"CAD {i}/23NOV26",
        version=version,
        grade=Grade.IMMEDIATE,
        status=status,
        created_at=created_at,
        deadline=created_at + timedelta(minutes=15),
        type="Burglary",
        summary=f"Incident {i}",
        location=LocationModel(address=f"{i} High Street", postcode="SW1A 1AA", borough="WM"),
        closed_at=closed_at,
    )
