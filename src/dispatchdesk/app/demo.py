"""The embedded demo backend behind ``uv run dispatchdesk``.

The reference server on 127.0.0.1 (SQLite in the data directory), a demo sign-in per role,
and the simulator feeding it from its own thread. On the first start of a fresh database a
supervisor service user adds a London fleet and a few special schemes and protective orders,
and a couple of hours of history are played in (with the server's clock set back), so the desk
opens with incidents in every state, breaches included, units busy and free, a divert still
owed, and warnings on incidents in the queue, rather than empty. The live simulator then
drives the fleet and now and then takes a call from a marked address.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import random
import secrets
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from dispatchdesk.app.paths import private_dir
from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.domain.warnings import OrderType, SchemeCategory, local_today
from dispatchdesk.protocol.schemas import (
    AssignRequest,
    CloseRequest,
    DivertRequest,
    IncidentCreate,
    Snapshot,
    UnitCreate,
    UnitStatusRequest,
)
from dispatchdesk.protocol.warnings import (
    OrderCreate,
    PersonModel,
    PlaceModel,
    SchemeCreate,
    SchemeReviewRequest,
)
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import make_engine
from dispatchdesk.server.errors import DomainError
from dispatchdesk.server.features.warnings.service import WarningsDesk
from dispatchdesk.server.london import block_of, random_address
from dispatchdesk.server.runner import Idem
from dispatchdesk.server.services import Services
from dispatchdesk.server.simulator import Scenario, Simulator

log = logging.getLogger(__name__)

SIMULATOR_USER = "demo-simulator"


def demo_username(role: Role) -> str:
    return f"demo-{role.value.replace('_', '-')}"


@dataclass(frozen=True)
class DemoSignIn:
    url: str
    username: str
    password: str


class DemoBackend:
    """Start with :meth:`start`, stop with :meth:`stop`; both block briefly (never on the GUI's
    event loop: the desk calls them from a worker thread)."""

    def __init__(self, base_dir: Path, *, rate_per_minute: float = 4.0,
                 history_hours: float = 2.0, seed: int | None = None,
                 port: int | None = None, units: int | None = None) -> None:
        self._dir = private_dir(base_dir / "demo")
        self.db_url = f"sqlite:///{self._dir / 'demo-server.db'}"
        self._fresh = not (self._dir / "demo-server.db").exists()
        self._rate = rate_per_minute
        self._history = timedelta(hours=history_hours)
        self._seed = seed
        #: Fleet size on a fresh database; None: sized for the rate (:func:`demo_fleet_size`).
        self._units = units
        self._passwords = {role: secrets.token_urlsafe(18) for role in Role}
        self._sim_password = secrets.token_urlsafe(18)
        #: Chosen now, so that the desk can build its client before the server is up.
        self.port = port or _free_port()
        self._server: EmbeddedServer | None = None
        self._simulator: Simulator | None = None
        self._thread: threading.Thread | None = None

    @property
    def is_fresh(self) -> bool:
        """True when this start created the demo database (any old demo cache is stale)."""
        return self._fresh

    def start(self) -> str:
        """Start everything; returns the server's URL."""
        for role, password in self._passwords.items():
            add_user(self.db_url, demo_username(role), role, password)
        add_user(self.db_url, SIMULATOR_USER, Role.DISPATCHER, self._sim_password)
        if self._fresh:
            playback = play_history(self.db_url, SIMULATOR_USER, self._history, self._rate,
                                    self._seed, units=self._units)
        else:
            playback = resume_lives(self.db_url, self._seed)
        self._server = EmbeddedServer(ServerSettings(db_url=self.db_url, port=self.port))
        self._server.start()
        self._simulator = Simulator(self._server.url, SIMULATOR_USER, self._sim_password,
                                    rate_per_minute=self._rate, seed=self._seed,
                                    marked=playback.marked)
        self._simulator.schedule(playback.steps, playback.sent)
        self._thread = threading.Thread(target=self._run_simulator, name="demo-simulator",
                                        daemon=True)
        self._thread.start()
        return self._server.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sign_in_for(self, role: Role) -> DemoSignIn:
        return DemoSignIn(self.url, demo_username(role), self._passwords[role])

    def stop(self) -> None:
        if self._simulator is not None:
            self._simulator.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._server is not None:
            self._server.stop()

    def _run_simulator(self) -> None:
        assert self._simulator is not None
        sim = self._simulator

        async def run() -> None:
            try:
                await sim.run()
            finally:
                await sim.aclose()

        try:
            asyncio.run(run())
        except Exception:  # the desk must go on without its feed; say why in the log
            log.exception("demo simulator stopped")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Playback:
    """What the history (or a restart) hands the live simulator."""

    #: The incidents' steps still in the future, as (seconds from now, action, incident).
    steps: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    #: incident id -> the unit on it, so the simulator moves that unit on.
    sent: dict[int, int] = field(default_factory=dict)
    #: Locations with a scheme or an order: the simulator sends a call from one now and then.
    marked: list[dict[str, Any]] = field(default_factory=list)


def demo_fleet_size(rate: float) -> int:
    """Units enough for ``rate`` calls a minute with most of the fleet busy but some free.

    An attended incident keeps a unit about 80-90 minutes (en route, at scene, now and then a
    custody spell), so ``rate`` x 110 keeps about four in five busy; a smaller fleet would fall
    further behind every minute and the queue would only grow.
    """
    return max(60, math.ceil(rate * 110))


def play_history(db_url: str, username: str, span: timedelta, rate: float,
                 seed: int | None, now: datetime | None = None, *,
                 units: int | None = None) -> Playback:
    """Set up a fresh demo database and play ``span`` of simulated calls into it with the
    server's clock set back.

    Goes through the server's own command layer (the rules, change log and audit that the
    HTTP routes use), so every row is what the live server would have written; only HTTP is
    skipped, which keeps a couple of hours of history to a few seconds. A supervisor service
    user adds the fleet (``units``, by default sized for ``rate``) and the special schemes
    and protective orders; the history dispatches, diverts and clears real units.
    """
    now = now or datetime.now(UTC)
    clock = FakeClock(now - span - ESCALATED_REVIEW_AGE)
    service = Services.open(make_engine(db_url), ServerSettings(db_url=db_url, clock=clock),
                      on_commit=lambda: None)
    try:
        scenario = Scenario(None if seed is None else seed + 1)
        # A scheme whose first-stage review has waited more than 14 days has to have been
        # asked for that long ago, so it is made first, with the clock furthest back.
        marked = [_escalated_scheme(service, scenario, now)]
        clock.set(now - span)
        player = _Player(service, clock, scenario, User(username, Role.DISPATCHER))
        player.add_fleet(units if units is not None else demo_fleet_size(rate))
        # No calls from marked addresses in the history: with one marker so far they would
        # all go there; the live simulator spreads them over all of them.
        player.play(now, rate)
        player.ensure_owed()
        marked += _mark_open_incidents(service, scenario, player.open_incidents(), now)
        return Playback(player.leftovers(now), dict(player.on), marked)
    finally:
        service.runner.engine.dispose()


def resume_lives(db_url: str, seed: int | None) -> Playback:
    """On a restart, units go back to the incidents left open, as a new shift would: each
    open incident gets its remaining steps within the next half hour, units on custody spells
    come free, and calls still come now and then from the marked addresses."""
    service = Services.open(make_engine(db_url), ServerSettings(db_url=db_url),
                            on_commit=lambda: None)
    try:
        rng = random.Random(seed)
        playback = Playback()
        snapshot = service.warnings.extend_snapshot(service.sync.snapshot())
        for incident in snapshot.incidents:
            if incident.grade.value == "R":
                continue
            at = 0.0
            for action in _REMAINING.get(incident.status, ()):
                at += rng.uniform(60, 600)
                playback.steps.append((at, action, incident.model_dump(mode="json")))
        for unit in service.units.units():
            if unit.incident_id is not None:
                playback.sent[unit.incident_id] = unit.id
            elif unit.status is UnitStatus.COMMITTED:
                playback.steps.append((rng.uniform(60, 1800), "free", {"unit_id": unit.id}))
        playback.steps.sort(key=lambda step: step[0])
        playback.marked = _marked_locations(snapshot)
        return playback
    finally:
        service.runner.engine.dispose()


_REMAINING = {
    IncidentStatus.OPEN: ("assign", "arrive", "close"),
    IncidentStatus.ASSIGNED: ("arrive", "close"),
    IncidentStatus.AT_SCENE: ("close",),
}


def _marked_locations(snapshot: Snapshot) -> list[dict[str, Any]]:
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


_NO_KEY = Idem(key=None, method_path="demo-history", request_hash="")

#: The service user that sets up the demo's fleet, schemes and orders (a supervisor's job).
SETUP_USER = User("demo-setup", Role.SUPERVISOR)
#: In the history an I-grade call takes a unit from an S-grade incident this often.
HISTORY_DIVERT_CHANCE = 0.15
#: How long ago the escalated scheme's first-stage review was asked for (over 14 days).
ESCALATED_REVIEW_AGE = timedelta(days=16)


@dataclass
class _Unit:
    id: int
    borough: str
    lat: float
    lon: float
    status: UnitStatus = UnitStatus.AVAILABLE
    incident_id: int | None = None


class _Player:
    """The simulator's lives of incidents with units, played straight into the service.

    The same steps as :meth:`Simulator._advance_with_units` (assign the nearest free unit,
    arrive, close, a spell COMMITTED, a divert from an S to a new I incident); the fleet's
    state is kept here, since nobody else writes while the history plays.
    """

    def __init__(self, service: Services, clock: FakeClock, scenario: Scenario,
                 user: User) -> None:
        self.service, self.clock, self.scenario, self.user = service, clock, scenario, user
        self.dispatch = service.units
        self.units: dict[int, _Unit] = {}
        #: incident id -> the unit on it.
        self.on: dict[int, int] = {}
        #: Incidents not closed, by id, as the create command returned them.
        self.incidents: dict[int, dict[str, Any]] = {}
        self.owed: set[int] = set()
        self._due: list[tuple[datetime, int, str, dict[str, Any]]] = []
        self._order = itertools.count()

    def add_fleet(self, n: int) -> None:
        bodies = [UnitCreate.model_validate(b) for b in self.scenario.fleet(n)]
        for unit in self.dispatch.create_units(SETUP_USER, bodies):
            self.units[unit.id] = _Unit(unit.id, unit.borough, unit.lat or 0.0, unit.lon or 0.0)

    def play(self, until: datetime, rate: float) -> None:
        next_call = self.clock.now()
        while True:
            step_at = min(next_call, self._due[0][0]) if self._due else next_call
            if step_at > until:
                self.clock.set(until)
                return
            self.clock.set(step_at)
            if self._due and self._due[0][0] == step_at:
                _, _, action, incident = heapq.heappop(self._due)
                try:
                    self._step(action, incident)
                except DomainError as refused:  # a rule said no: leave it, as a shift would
                    log.debug("demo history: %s refused: %s", action, refused.detail)
                continue
            self.call()
            next_call = step_at + timedelta(seconds=self.scenario.next_gap(rate))

    def later(self, minutes: float, action: str, incident: dict[str, Any]) -> None:
        heapq.heappush(self._due, (self.clock.now() + timedelta(minutes=minutes),
                                   next(self._order), action, incident))

    def call(self) -> dict[str, Any]:
        body = IncidentCreate.model_validate(self.scenario.new_incident())
        incident: dict[str, Any] = self.service.incidents.create_incident(
            self.user, body, _NO_KEY).body
        self.incidents[incident["id"]] = incident
        if incident["grade"] == "I" and self.scenario.rng.random() < HISTORY_DIVERT_CHANCE:
            self.divert_to(incident)
        delays = self.scenario.attendance_delays(incident["grade"])
        for action, delay in zip(("assign", "arrive", "close"), delays or (), strict=False):
            self.later(delay / 60, action, incident)
        return incident

    def ensure_owed(self) -> None:
        """Leave one incident owed at the end, so the DIVERT tag list and the OWED count have
        something in them when the desk opens: a last I-grade call takes an S incident's
        unit (the owed incident gets another unit from its own next step, minutes later)."""
        if self.owed:
            return
        for _ in range(40):  # calls keep coming until one is I-grade (a handful at most)
            incident = self.call()
            if incident["grade"] == "I" and incident["id"] not in self.on:
                if not self.divert_to(incident):
                    log.info("demo history: no unit en route to an S incident to divert")
                return

    def divert_to(self, urgent: dict[str, Any]) -> bool:
        """Take a unit en route to an S-grade incident away to this I-grade one."""
        for incident_id, unit_id in list(self.on.items()):
            unit = self.units[unit_id]
            if unit.status is not UnitStatus.ASSIGNED or \
                    self.incidents[incident_id]["grade"] != "S":
                continue
            reason = self.scenario.divert_reason(urgent)
            self.dispatch.divert(self.user, unit_id, DivertRequest(
                incident_id=urgent["id"], reason=reason), None, _NO_KEY)
            del self.on[incident_id]
            self.on[urgent["id"]] = unit_id
            unit.incident_id = urgent["id"]
            self.owed.add(incident_id)
            return True
        return False

    def send(self, incident: dict[str, Any]) -> bool:
        """Assign the nearest free unit of the incident's borough (else of any); False when
        the whole fleet is busy."""
        free = [u for u in self.units.values() if u.status is UnitStatus.AVAILABLE]
        if not free:
            return False
        loc = incident["location"]
        lat, lon = loc.get("lat") or 0.0, loc.get("lon") or 0.0
        unit = min(free, key=lambda u: (u.borough != loc["borough"],
                                        (u.lat - lat) ** 2 + ((u.lon - lon) * 0.62) ** 2))
        self.dispatch.assign(self.user, unit.id, AssignRequest(incident_id=incident["id"]),
                             None, _NO_KEY)
        unit.status, unit.incident_id = UnitStatus.ASSIGNED, incident["id"]
        self.on[incident["id"]] = unit.id
        return True

    def _step(self, action: str, incident: dict[str, Any]) -> None:
        if action == "free":  # a spell COMMITTED (custody, hospital) ends
            self._set_status(self.units[incident["unit_id"]], UnitStatus.AVAILABLE)
            return
        if incident["id"] not in self.incidents:  # closed meanwhile
            return
        unit = self.units.get(self.on.get(incident["id"], -1))
        if action == "assign":
            if unit is None and not self.send(incident):
                self.later(3, "assign", incident)  # nobody free: try again shortly
        elif action == "arrive":
            self._arrive(incident, unit)
        elif unit is None or unit.status is not UnitStatus.AT_SCENE:
            # not attended yet (or owed): wait for a unit to get there
            if unit is None:
                self.later(10, "arrive", incident)
            self.later(10 if unit is not None else 30, "close", incident)
        else:
            self._close(incident, unit)

    def _arrive(self, incident: dict[str, Any], unit: _Unit | None) -> None:
        if unit is None:  # diverted away (or nobody was free): find another unit
            if self.send(incident):
                self.later(self.scenario.rng.uniform(5, 20), "arrive", incident)
            else:
                self.later(3, "arrive", incident)
            return
        if unit.status is UnitStatus.ASSIGNED:
            self.dispatch.arrive(self.user, unit.id, None, _NO_KEY)
            unit.status = UnitStatus.AT_SCENE
            self.owed.discard(incident["id"])

    def _close(self, incident: dict[str, Any], unit: _Unit) -> None:
        for _ in range(3):  # a refused rationale is rewritten, as an operator would
            body = CloseRequest(rationale=self.scenario.rationale(incident))
            try:
                self.service.incidents.close_incident(
                    self.user, incident["id"], body, None, _NO_KEY)
                break
            except DomainError:
                continue
        else:
            return
        del self.incidents[incident["id"]]
        del self.on[incident["id"]]
        unit.status, unit.incident_id = UnitStatus.AVAILABLE, None  # the close stands it down
        if self.scenario.rng.random() < 0.2:
            self._set_status(unit, UnitStatus.COMMITTED)
            self.later(self.scenario.rng.uniform(20, 60), "free", {"unit_id": unit.id})

    def _set_status(self, unit: _Unit, status: UnitStatus) -> None:
        self.dispatch.set_status(self.user, unit.id, UnitStatusRequest(status=status), None,
                                 _NO_KEY)
        unit.status = status

    def open_incidents(self) -> list[dict[str, Any]]:
        """Incidents still open, newest first (those the desk shows near the top)."""
        return sorted(self.incidents.values(), key=lambda i: -int(i["id"]))

    def leftovers(self, now: datetime) -> list[tuple[float, str, dict[str, Any]]]:
        return [((at - now).total_seconds(), action, inc)
                for at, _, action, inc in sorted(self._due)]


# --- special schemes and protective orders ------------------------------------------------

def _place(location: dict[str, Any]) -> PlaceModel:
    return PlaceModel.model_validate({k: location.get(k) for k in
                                      ("address", "postcode", "uprn", "parent_uprn", "usrn")})


def _escalated_scheme(service: Services, scenario: Scenario, now: datetime) -> dict[str, Any]:
    """A serial-perpetrator scheme whose first-stage review was asked for over 14 days ago
    and never decided: the server escalates it to second stage at its next sweep. Made with
    the clock set back; returns its location."""
    desk = service.warnings
    asked = service.runner.now()
    location = random_address(scenario.rng).as_location()
    body = SchemeCreate(
        location=_place(location), category=SchemeCategory.SERIAL_PERPETRATOR,
        summary="Known shoplifter and burglar lives here; several stolen-goods searches, "
                "has run from officers via the rear garden.",
        officer_in_case="DC 4471 Hughes", starts_at=asked - timedelta(days=120),
        expires_at=now + timedelta(days=30),
    )
    scheme = desk.create_scheme(SETUP_USER, body, _NO_KEY).body
    desk.request_review(SETUP_USER, int(scheme["id"]), SchemeReviewRequest(
        note="Offending seems to have stopped: keep or end?"), _NO_KEY, None)
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
    _Marker("scheme", SchemeCategory.VICTIM_AT_RISK,
            "Victim of domestic abuse lives here; ex-partner released on bail, must not "
            "attend. Treat any call from this address as urgent.", (40, 120)),
    _Marker("block", SchemeCategory.OFFICER_SAFETY,
            "Officer safety: a resident of this block has threatened officers with a knife; "
            "attend in pairs and request an area car.", (25, 150)),
    _Marker("scheme", SchemeCategory.VULNERABLE_PERSON,
            "Elderly resident with dementia, lives alone and may not answer; key safe, code "
            "with the officer in the case.", (170, 9)),
    _Marker("order", OrderType.NON_MOLESTATION,
            "Must not contact the protected person or come within 100 metres of the address.",
            (364, 1)),
    _Marker("order", OrderType.STALKING_PROTECTION,
            "Must not contact the protected person by any means or enter the street.",
            (725, 5)),
    _Marker("order", OrderType.RESTRAINING,
            "Must not attend the address or contact the protected person, directly or "
            "through others.", (400, None)),
)

#: (subject, protected person) of each order: names no simulated caller has, so only the
#: marked location matches.
ORDER_PEOPLE = (
    (PersonModel(name="Dean Harker", dob=date(1988, 3, 14)),
     PersonModel(name="Kerry Walsh", dob=date(1991, 7, 2))),
    (PersonModel(name="Marcus Feld", dob=date(1979, 11, 30)),
     PersonModel(name="Aisha Rahman", dob=date(1995, 1, 18))),
    (PersonModel(name="Gavin Toomey", dob=date(1983, 5, 9)),
     PersonModel(name="Lena Novak", dob=date(1990, 9, 21))),
)


def _mark_open_incidents(service: Services, scenario: Scenario,
                         open_incidents: list[dict[str, Any]],
                         now: datetime) -> list[dict[str, Any]]:
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
        location = next((loc for loc in pool if loc["uprn"] not in used and
                         loc.get("parent_uprn") not in used), None)
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


def _add_scheme(desk: WarningsDesk, marker: _Marker, location: dict[str, Any],
                now: datetime) -> None:
    started, left = marker.days
    assert isinstance(marker.category, SchemeCategory) and left is not None
    starts = now - timedelta(days=started)
    desk.create_scheme(SETUP_USER, SchemeCreate(
        location=_place(location), category=marker.category, summary=marker.text,
        officer_in_case="PC 2210 Okoye", starts_at=starts, expires_at=now + timedelta(days=left),
        victim_informed_at=starts + timedelta(days=1),
    ), _NO_KEY)


def _add_order(desk: WarningsDesk, marker: _Marker, location: dict[str, Any],
               people: tuple[PersonModel, PersonModel], now: datetime) -> None:
    issued, left = marker.days
    assert isinstance(marker.category, OrderType)
    today = local_today(now, desk.policy)
    desk.create_order(SETUP_USER, OrderCreate(
        order_type=marker.category, subject=people[0], protected_persons=[people[1]],
        locations=[_place(location)], conditions=marker.text,
        issued_on=today - timedelta(days=issued),
        expires_on=None if left is None else today + timedelta(days=left),
        source_ref=f"DEMO/{marker.category.value}/{today:%Y%m%d}",
    ), _NO_KEY)
