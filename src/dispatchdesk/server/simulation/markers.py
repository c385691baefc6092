"""The demo's special schemes and protective orders: one scheme whose first-stage review is
overdue (the server escalates it), and :data:`MARKERS` put on the addresses of incidents left
open by the history, so the desk opens with warnings on its queue. Made through the server's
warnings commands by a supervisor service user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.warnings import OrderType, SchemeCategory, local_today
from dispatchdesk.protocol.schemas import Snapshot
from dispatchdesk.protocol.warnings import (
    OrderCreate,
    PersonModel,
    PlaceModel,
    SchemeCreate,
    SchemeReviewRequest,
)
from dispatchdesk.server.auth import User
from dispatchdesk.server.features.warnings.service import WarningsDesk
from dispatchdesk.server.runner import Idem
from dispatchdesk.server.services import Services
from dispatchdesk.server.simulation.london import block_of, random_address
from dispatchdesk.server.simulation.scenario import Scenario

#: Commands played in by the demo's setup carry no idempotency key.
NO_KEY = Idem(key=None, method_path="demo-history", request_hash="")
#: The service user that sets up the demo's fleet, schemes and orders (a supervisor's job).
SETUP_USER = User("demo-setup", Role.SUPERVISOR)
#: How long ago the escalated scheme's first-stage review was asked for (over 14 days).
ESCALATED_REVIEW_AGE = timedelta(days=16)


def _place(location: dict[str, Any]) -> PlaceModel:
    return PlaceModel.model_validate(
        {k: location.get(k) for k in ("address", "postcode", "uprn", "parent_uprn", "usrn")}
    )


def escalated_scheme(service: Services, scenario: Scenario, now: datetime) -> dict[str, Any]:
    """A serial-perpetrator scheme whose first-stage review was asked for over 14 days ago
    and never decided: the server escalates it to second stage at its next sweep. Made with
    the clock set back; returns its location."""
    desk = service.warnings
    asked = service.runner.now()
    location = random_address(scenario.rng).as_location()
    body = SchemeCreate(
        location=_place(location),
        category=SchemeCategory.SERIAL_PERPETRATOR,
        summary="Known shoplifter and burglar lives here; several stolen-goods searches, "
        "has run from officers via the rear garden.",
        officer_in_case="DC 4471 Hughes",
        starts_at=asked - timedelta(days=120),
        expires_at=now + timedelta(days=30),
    )
    scheme = desk.create_scheme(SETUP_USER, body, NO_KEY).body
    desk.request_review(
        SETUP_USER,
        int(scheme["id"]),
        SchemeReviewRequest(note="Offending seems to have stopped: keep or end?"),
        NO_KEY,
        None,
    )
    return location


@dataclass(frozen=True)
class _Marker:
    """One scheme or order to put on an open incident's address."""

    what: Literal["scheme", "block", "order"]
    category: SchemeCategory | OrderType
    text: str
    #: Scheme: (days since it started, days to expiry). Order: (days since issued, days to
    #: expiry, or None: until further order).
    days: tuple[int, int | None]


MARKERS = (
    _Marker(
        "scheme",
        SchemeCategory.VICTIM_AT_RISK,
        "Victim of domestic abuse lives here; ex-partner released on bail, must not "
        "attend. Treat any call from this address as urgent.",
        (40, 120),
    ),
    _Marker(
        "block",
        SchemeCategory.OFFICER_SAFETY,
        "Officer safety: a resident of this block has threatened officers with a knife; "
        "attend in pairs and request an area car.",
        (25, 150),
    ),
    _Marker(
        "scheme",
        SchemeCategory.VULNERABLE_PERSON,
        "Elderly resident with dementia, lives alone and may not answer; key safe, code "
        "with the officer in the case.",
        (170, 9),
    ),
    _Marker(
        "order",
        OrderType.NON_MOLESTATION,
        "Must not contact the protected person or come within 100 metres of the address.",
        (364, 1),
    ),
    _Marker(
        "order",
        OrderType.STALKING_PROTECTION,
        "Must not contact the protected person by any means or enter the street.",
        (725, 5),
    ),
    _Marker(
        "order",
        OrderType.RESTRAINING,
        "Must not attend the address or contact the protected person, directly or through others.",
        (400, None),
    ),
)

#: (subject, protected person) of each order: names no simulated caller has, so only the
#: marked location matches.
ORDER_PEOPLE = (
    (
        PersonModel(name="Dean Harker", dob=date(1988, 3, 14)),
        PersonModel(name="Kerry Walsh", dob=date(1991, 7, 2)),
    ),
    (
        PersonModel(name="Marcus Feld", dob=date(1979, 11, 30)),
        PersonModel(name="Aisha Rahman", dob=date(1995, 1, 18)),
    ),
    (
        PersonModel(name="Gavin Toomey", dob=date(1983, 5, 9)),
        PersonModel(name="Lena Novak", dob=date(1990, 9, 21)),
    ),
)


def mark_open_incidents(
    service: Services, scenario: Scenario, open_incidents: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Put the :data:`MARKERS` on the addresses of open incidents (one each, a flat's block
    for the block scheme), so the desk opens with warnings on its queue; returns the marked
    locations. Short histories run out of incidents: the rest go on made-up addresses."""
    flats = [i["location"] for i in open_incidents if i["location"].get("parent_uprn")]
    places = [i["location"] for i in open_incidents if i["grade"] != "R"]
    used: set[str] = set()
    marked: list[dict[str, Any]] = []
    orders = iter(ORDER_PEOPLE)
    desk = service.warnings
    for marker in MARKERS:
        pool = flats if marker.what == "block" else places
        location = next(
            (loc for loc in pool if loc["uprn"] not in used and loc.get("parent_uprn") not in used),
            None,
        )
        if location is None:
            location = _made_up(scenario, flat=marker.what == "block")
        used |= {location["uprn"], location.get("parent_uprn") or ""}
        marked.append(location)
        if marker.what == "order":
            _add_order(desk, marker, location, next(orders), now)
        else:
            target = (block_of(location) or location) if marker.what == "block" else location
            _add_scheme(desk, marker, target, now)
    return marked


def _made_up(scenario: Scenario, *, flat: bool) -> dict[str, Any]:
    for _ in range(100):  # about a third of addresses are flats
        location = random_address(scenario.rng).as_location()
        if location["parent_uprn"] or not flat:
            return location
    return location


def _add_scheme(
    desk: WarningsDesk, marker: _Marker, location: dict[str, Any], now: datetime
) -> None:
    started, left = marker.days
    assert isinstance(marker.category, SchemeCategory) and left is not None
    starts = now - timedelta(days=started)
    desk.create_scheme(
        SETUP_USER,
        SchemeCreate(
            location=_place(location),
            category=marker.category,
            summary=marker.text,
            officer_in_case="PC 2210 Okoye",
            starts_at=starts,
            expires_at=now + timedelta(days=left),
            victim_informed_at=starts + timedelta(days=1),
        ),
        NO_KEY,
    )


def _add_order(
    desk: WarningsDesk,
    marker: _Marker,
    location: dict[str, Any],
    people: tuple[PersonModel, PersonModel],
    now: datetime,
) -> None:
    issued, left = marker.days
    assert isinstance(marker.category, OrderType)
    today = local_today(now, desk.policy)
    desk.create_order(
        SETUP_USER,
        OrderCreate(
            order_type=marker.category,
            subject=people[0],
            protected_persons=[people[1]],
            locations=[_place(location)],
            conditions=marker.text,
            issued_on=today - timedelta(days=issued),
            expires_on=None if left is None else today + timedelta(days=left),
            source_ref=f"DEMO/{marker.category.value}/{today:%Y%m%d}",
        ),
        NO_KEY,
    )


def marked_locations(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Locations of incidents at an address that a live scheme or an order marks."""
    uprns = {s.location.uprn for s in snapshot.schemes}
    uprns |= {p.uprn for o in snapshot.orders for p in o.locations}
    uprns.discard(None)
    found: dict[str, dict[str, Any]] = {}
    for incident in snapshot.incidents:
        loc = incident.location
        if loc.uprn and (loc.uprn in uprns or loc.parent_uprn in uprns):
            found.setdefault(loc.uprn, loc.model_dump(mode="json"))
    return list(found.values())
