"""Seeding the demo's database: a London fleet, special schemes and protective orders, and a
couple of hours of history played in with the server's clock set back; on a restart, the
open incidents' remaining steps for the live simulator.

The history runs the same lives as the simulator (:mod:`.lives`, planned by
:class:`~.lifecycle.Planner`), executed in-process through the server's own command layer
(the rules, change log and audit the HTTP routes use) rather than over HTTP, which keeps a
couple of hours to a few seconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import random
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.domain.roles import Role
from dispatchdesk.domain.tasks import TaskKind, TaskState
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.protocol.notices import NoticeCreate
from dispatchdesk.protocol.schemas import (
    AssignRequest,
    CloseRequest,
    DivertRequest,
    IncidentCreate,
    UnitCreate,
    UnitStatusRequest,
)
from dispatchdesk.protocol.tasks import TaskDone
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import make_engine
from dispatchdesk.server.errors import DomainError
from dispatchdesk.server.services import Services
from dispatchdesk.server.settings import ServerSettings
from dispatchdesk.server.simulation.lifecycle import Action, Attendance, Later, Planner
from dispatchdesk.server.simulation.lives import advance, divert_to, start_life
from dispatchdesk.server.simulation.markers import (
    ESCALATED_REVIEW_AGE,
    NO_KEY,
    SETUP_USER,
    escalated_scheme,
    mark_open_incidents,
    marked_locations,
)
from dispatchdesk.server.simulation.scenario import Scenario

log = logging.getLogger(__name__)

#: In the history an I-grade call takes a unit from an S-grade incident this often.
HISTORY_DIVERT_CHANCE = 0.15


@dataclass
class Playback:
    """What the history (or a restart) hands the live simulator."""

    #: The incidents' steps still in the future, as (seconds from now, action, incident).
    steps: list[tuple[float, Action, dict[str, Any]]] = field(default_factory=list)
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


def play_history(
    db_url: str,
    username: str,
    span: timedelta,
    rate: float,
    seed: int | None,
    now: datetime | None = None,
    *,
    units: int | None = None,
) -> Playback:
    """Set up a fresh demo database and play ``span`` of simulated calls into it with the
    server's clock set back.

    A supervisor service user adds the fleet (``units``, by default sized for ``rate``) and
    the special schemes and protective orders; the history dispatches, diverts and clears
    real units as ``username``. Not to be called on a thread running an event loop.
    """
    now = now or datetime.now(UTC)
    clock = FakeClock(now - span - ESCALATED_REVIEW_AGE)
    service = Services.open(
        make_engine(db_url), ServerSettings(db_url=db_url, clock=clock), on_commit=lambda: None
    )
    try:
        scenario = Scenario(None if seed is None else seed + 1)
        # A scheme whose first-stage review has waited more than 14 days has to have been
        # asked for that long ago, so it is made first, with the clock furthest back.
        marked = [escalated_scheme(service, scenario, now)]
        clock.set(now - span)
        player = _History(service, clock, scenario, User(username, Role.DISPATCHER))
        player.add_fleet(units if units is not None else demo_fleet_size(rate))
        # No calls from marked addresses in the history: with one marker so far they would
        # all go there; the live simulator spreads them over all of them.
        asyncio.run(player.play(now, rate))
        marked += mark_open_incidents(service, scenario, player.open_incidents(), now)
        post_demo_notice(service, clock, now)
        return Playback(player.leftovers(now), dict(player.on), marked)
    finally:
        service.runner.engine.dispose()


def post_demo_notice(service: Services, clock: FakeClock, now: datetime) -> None:
    """An operational notice from the duty supervisor, posted an hour ago, that call handlers
    and dispatchers must acknowledge: what a desk shows at sign-in."""
    clock.set(now - timedelta(hours=1))
    service.notices.create(
        User("demo-supervisor", Role.SUPERVISOR),
        NoticeCreate(
            title="Domestic abuse: contact the informant on every domestic incident",
            body=(
                "From today every domestic incident has a task to contact the informant, "
                "anonymous callers included: an anonymous caller is still an informant. "
                "Offer anonymity only when the caller asks for it. Record the outcome of "
                "each task, or why it was not done, before the incident is closed."
            ),
            roles=[Role.CALL_HANDLER, Role.DISPATCHER],
            requires_ack=True,
            expires_at=now + timedelta(days=14),
        ),
        NO_KEY,
    )


def resume_lives(db_url: str, seed: int | None) -> Playback:
    """On a restart, units go back to the incidents left open, as a new shift would: each
    open incident gets its remaining steps within the next half hour, units on custody spells
    come free, and calls still come now and then from the marked addresses."""
    service = Services.open(
        make_engine(db_url), ServerSettings(db_url=db_url), on_commit=lambda: None
    )
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
        playback.marked = marked_locations(snapshot)
        return playback
    finally:
        service.runner.engine.dispose()


_REMAINING: dict[IncidentStatus, tuple[Action, ...]] = {
    IncidentStatus.OPEN: ("assign", "arrive", "close"),
    IncidentStatus.ASSIGNED: ("arrive", "close"),
    IncidentStatus.AT_SCENE: ("close",),
}


@dataclass
class _Unit:
    id: int
    borough: str
    lat: float
    lon: float
    status: UnitStatus = UnitStatus.AVAILABLE
    incident_id: int | None = None


class _History:
    """The lives' executor in-process: the planner's commands go straight into the service
    at the clock's virtual time; the fleet's state is kept here, since nobody else writes
    while the history plays. A command a rule refuses is left, as a shift would."""

    def __init__(self, service: Services, clock: FakeClock, scenario: Scenario, user: User) -> None:
        self.service, self.clock, self.scenario, self.user = service, clock, scenario, user
        self.planner = Planner(scenario, HISTORY_DIVERT_CHANCE)
        self.dispatch = service.units
        self.units: dict[int, _Unit] = {}
        #: incident id -> the unit on it.
        self.on: dict[int, int] = {}
        #: Incidents not closed, by id, as the create command returned them.
        self.incidents: dict[int, dict[str, Any]] = {}
        self.owed: set[int] = set()
        self._due: list[tuple[datetime, int, Action, dict[str, Any]]] = []
        self._order = itertools.count()

    def add_fleet(self, n: int) -> None:
        bodies = [UnitCreate.model_validate(b) for b in self.scenario.fleet(n)]
        for unit in self.dispatch.create_units(SETUP_USER, bodies):
            self.units[unit.id] = _Unit(unit.id, unit.borough, unit.lat or 0.0, unit.lon or 0.0)

    async def play(self, until: datetime, rate: float) -> None:
        """Calls at ``rate`` a minute and their lives' steps, in time order, until ``until``;
        then one incident left owed (:meth:`ensure_owed`)."""
        next_call = self.clock.now()
        while True:
            step_at = min(next_call, self._due[0][0]) if self._due else next_call
            if step_at > until:
                self.clock.set(until)
                break
            self.clock.set(step_at)
            if self._due and self._due[0][0] == step_at:
                _, _, action, incident = heapq.heappop(self._due)
                try:
                    await advance(self.planner, self, action, incident)
                except DomainError as refused:  # a rule said no: leave it, as a shift would
                    log.debug("demo history: %s refused: %s", action, refused.detail)
                continue
            await self.call()
            next_call = step_at + timedelta(seconds=self.scenario.next_gap(rate))
        await self.ensure_owed()

    async def call(self) -> dict[str, Any]:
        body = IncidentCreate.model_validate(self.scenario.new_incident())
        created = self.service.incidents.create_incident(self.user, body, NO_KEY)
        incident: dict[str, Any] = created.body
        self.incidents[incident["id"]] = incident
        await start_life(self.planner, self, incident, fleet=True)
        return incident

    async def ensure_owed(self) -> None:
        """Leave one incident owed at the end, so the DIVERT tag list and the OWED count have
        something in them when the desk opens: a last I-grade call takes an S incident's
        unit (the owed incident gets another unit from its own next step, minutes later)."""
        if self.owed:
            return
        for _ in range(40):  # calls keep coming until one is I-grade (a handful at most)
            incident = await self.call()
            if incident["grade"] == "I" and incident["id"] not in self.on:
                if not await divert_to(self.planner, self, incident):
                    log.info("demo history: no unit en route to an S incident to divert")
                return

    def open_incidents(self) -> list[dict[str, Any]]:
        """Incidents still open, newest first (those the desk shows near the top)."""
        return sorted(self.incidents.values(), key=lambda i: -int(i["id"]))

    def leftovers(self, now: datetime) -> list[tuple[float, Action, dict[str, Any]]]:
        return [
            ((at - now).total_seconds(), action, inc) for at, _, action, inc in sorted(self._due)
        ]

    # --- the executor (see lives.Executor) ---------------------------------------------------

    def later(self, step: Later) -> None:
        heapq.heappush(
            self._due,
            (
                self.clock.now() + timedelta(seconds=step.seconds),
                next(self._order),
                step.action,
                step.incident,
            ),
        )

    async def attendance(self, incident: dict[str, Any]) -> Attendance | None:
        if incident["id"] not in self.incidents:  # closed meanwhile
            return None
        unit = self.units.get(self.on.get(incident["id"], -1))
        return Attendance(
            unit_id=None if unit is None else unit.id,
            en_route=unit is not None and unit.status is UnitStatus.ASSIGNED,
            attended=unit is not None and unit.status is UnitStatus.AT_SCENE,
        )

    async def en_route_units(self) -> AsyncGenerator[tuple[int, int], None]:
        for incident_id, unit_id in list(self.on.items()):
            if self.planner.divertable_unit(
                self.units[unit_id].status.value
            ) and self.planner.divertable_from(self.incidents[incident_id]["grade"]):
                yield incident_id, unit_id

    async def divert(
        self, unit_id: int, from_incident: int, urgent: dict[str, Any], reason: str
    ) -> bool:
        try:
            self.dispatch.divert(
                self.user,
                unit_id,
                DivertRequest(incident_id=urgent["id"], reason=reason),
                None,
                NO_KEY,
            )
        except DomainError as refused:
            log.debug("demo history: divert refused: %s", refused.detail)
            return False
        del self.on[from_incident]
        self.on[urgent["id"]] = unit_id
        self.units[unit_id].incident_id = urgent["id"]
        self.owed.add(from_incident)
        return True

    async def send(self, incident: dict[str, Any]) -> bool:
        """Assign the nearest free unit of the incident's borough (else of any); False when
        the whole fleet is busy."""
        free = [u for u in self.units.values() if u.status is UnitStatus.AVAILABLE]
        if not free:
            return False
        loc = incident["location"]
        lat, lon = loc.get("lat") or 0.0, loc.get("lon") or 0.0
        unit = min(
            free,
            key=lambda u: (
                u.borough != loc["borough"],
                (u.lat - lat) ** 2 + ((u.lon - lon) * 0.62) ** 2,
            ),
        )
        self.dispatch.assign(
            self.user, unit.id, AssignRequest(incident_id=incident["id"]), None, NO_KEY
        )
        unit.status, unit.incident_id = UnitStatus.ASSIGNED, incident["id"]
        self.on[incident["id"]] = unit.id
        return True

    async def arrive(self, unit_id: int, incident: dict[str, Any]) -> None:
        self.dispatch.arrive(self.user, unit_id, None, NO_KEY)
        self.units[unit_id].status = UnitStatus.AT_SCENE
        self.owed.discard(incident["id"])

    async def record_tasks(self, incident: dict[str, Any]) -> None:
        current = self.service.incidents.get_incident(incident["id"])
        for task in current.tasks:
            if task.state is not TaskState.OPEN:
                continue
            if task.kind is TaskKind.HISTORY_CHECK and not self._open_history(incident["id"]):
                continue
            outcome = self.planner.task_outcome(incident, task.model_dump(mode="json"))
            try:
                self.service.tasks.done(
                    self.user, incident["id"], task.id, TaskDone(outcome=outcome), NO_KEY
                )
            except DomainError as refused:
                log.debug("demo history: task refused: %s", refused.detail)

    def _open_history(self, incident_id: int) -> bool:
        """Open the incident's history (audited), as the officers' history check does."""
        try:
            self.service.history.incident_history(self.user, incident_id)
        except DomainError as refused:
            log.debug("demo history: history of %s refused: %s", incident_id, refused.detail)
            return False
        return True

    async def close(self, incident: dict[str, Any], rationale: str) -> bool:
        try:
            self.service.incidents.close_incident(
                self.user, incident["id"], CloseRequest(rationale=rationale), None, NO_KEY
            )
        except DomainError:
            return False
        del self.incidents[incident["id"]]
        unit = self.units[self.on.pop(incident["id"])]
        unit.status, unit.incident_id = UnitStatus.AVAILABLE, None  # the close stands it down
        return True

    async def set_status(self, unit_id: int, status: str) -> bool:
        try:
            self.dispatch.set_status(
                self.user, unit_id, UnitStatusRequest(status=UnitStatus(status)), None, NO_KEY
            )
        except DomainError as refused:
            log.debug("demo history: status %s refused: %s", status, refused.detail)
            return False
        self.units[unit_id].status = UnitStatus(status)
        return True
