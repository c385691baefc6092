"""The simulator: a realistic London incident feed for any backend, over the public HTTP API.

``dispatchdesk simulate --server URL --user NAME --rate N [--seed S]`` signs in and creates
about N incidents a minute (grades roughly I 30% / S 40% / E 20% / R 10%, real incident types,
plausible addresses), then moves each through its life the way a shift does: a unit is
assigned, arrives (usually in time, sometimes late, so some S-grade incidents breach), and the
incident is closed with a rationale written for it. The same seed gives the same run.

With ``units=N`` (a supervisor sign-in) it first adds a fleet of N units; whenever the backend
has a fleet the lives go through the unit commands (assign, arrive, close, and sometimes a spell
COMMITTED), and a new I-grade call now and then takes a unit en route to an S-grade incident
away from it, as in real life: the S incident is then owed, and another unit is found for it
when one is free. Without a fleet nothing about units is sent, and incidents wait for a unit
until they are closed (the status follows the units; only an arrival marks attendance).

Given ``marked`` locations (addresses with a special scheme or a protective order), a call now
and then comes from one of them, so the desk's warnings pop on new incidents too.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from dispatchdesk.protocol import API_PREFIX, IDEMPOTENCY_HEADER
from dispatchdesk.server.london import BOROUGH_CODES, BOROUGHS, Address, near, random_address

log = logging.getLogger(__name__)

GRADE_WEIGHTS = {"I": 30, "S": 40, "E": 20, "R": 10}

# Incident types by grade, with the summary a call handler would write.
TYPES: dict[str, tuple[tuple[str, str], ...]] = {
    "I": (
        ("Domestic", "Caller reports partner shouting and threatening her, children present."),
        ("Assault", "Male assaulted outside premises, bleeding from head, suspect still nearby."),
        ("Robbery", "Phone snatched at knifepoint, suspect ran towards the station."),
        ("RTC", "Two-car collision, one driver trapped, LAS requested."),
        ("Concern for welfare", "Neighbour heard screaming then silence from next door."),
        ("Burglary", "Intruders inside the house now, caller hiding upstairs."),
    ),
    "S": (
        ("Domestic", "Ex-partner turned up at the address earlier, has left, caller scared."),
        ("Concern for welfare", "Elderly neighbour not seen for three days, post piling up."),
        ("Burglary", "Came home to find back door forced, jewellery missing."),
        ("Missing person", "16-year-old did not come home from school, phone off."),
        ("ASB", "Group of youths throwing stones at windows for the past hour."),
        ("Theft", "Shoplifter detained by security, being abusive."),
    ),
    "E": (
        ("Burglary", "Shed broken into overnight, tools taken, no suspects."),
        ("Theft", "Bicycle stolen from communal hallway last week."),
        ("Criminal damage", "Car keyed overnight on driveway."),
        ("ASB", "Ongoing noise from flat above, wants officer to visit."),
        ("Fraud", "Elderly caller lost savings to a phone scam."),
    ),
    "R": (
        ("Lost property", "Caller lost wallet on the bus, wants a reference number."),
        ("Civil dispute", "Dispute with landlord over deposit."),
        ("Advice", "Asking whether a neighbour's CCTV may face their garden."),
    ),
}

OUTCOMES = (
    "suspect arrested for assault and taken to custody",
    "victim safeguarded and referred to the IDVA service",
    "no offences disclosed after speaking to all parties separately",
    "crime report raised and house-to-house enquiries started",
    "missing person found safe and returned home",
    "vehicle recovered and LAS took the injured driver to hospital",
    "area searched with negative result, CCTV requested from the shop",
    "caller given crime number and victim care contact",
)
CHECKS = (
    "PNC and previous calls at the address checked",
    "DASH risk assessment completed as {risk}",
    "body-worn video recorded throughout",
    "children at the address seen and spoken to",
    "neighbours at numbers {n1} and {n2} spoken to",
    "statement taken from the caller",
)
RISKS = ("standard", "medium", "high")
UNIT_KINDS = (("IRV", 6), ("Area car", 2), ("Van", 2), ("Dog", 1))
DIVERT_REASONS = (
    "nearest unit to an I-grade {type} in progress",
    "only unit able to reach the I-grade {type} inside the target",
    "I-grade {type} with risk to life, S-grade call can wait for the next unit",
)
#: How often a new call comes from an address with a scheme or an order on it.
MARKED_CHANCE = 0.04
CALLERS = ("A. Okafor", "J. Smith", "P. Kowalski", "S. Begum", "M. Brown", "T. Nguyen",
           "L. Williams", "R. Patel", "K. O'Brien", "D. Mensah")


@dataclass(order=True)
class _Due:
    at: float
    order: int
    action: str = field(compare=False)
    incident: dict[str, Any] = field(compare=False)


class Scenario:
    """Everything random about a run, from one seed; no I/O, so it is testable on its own."""

    def __init__(self, seed: int | None = None,
                 marked: list[dict[str, Any]] | None = None,
                 marked_chance: float = MARKED_CHANCE) -> None:
        self.rng = random.Random(seed)
        #: Locations with a scheme or an order on them: a call now and then comes from one,
        #: so warnings pop on new incidents as well as on the queue opened at the start.
        self.marked = list(marked or [])
        self.marked_chance = marked_chance

    def next_gap(self, rate_per_minute: float) -> float:
        """Seconds until the next call: a Poisson process at the given rate."""
        return self.rng.expovariate(rate_per_minute / 60.0)

    def new_incident(self) -> dict[str, Any]:
        grade = self.rng.choices(list(GRADE_WEIGHTS), weights=list(GRADE_WEIGHTS.values()))[0]
        kind, summary = self.rng.choice(TYPES[grade])
        location = self._location()
        anonymous = self.rng.random() < 0.05
        caller = {"anonymous": anonymous} if anonymous else {
            "name": self.rng.choice(CALLERS),
            "phone": f"07{self.rng.randint(100, 999)} {self.rng.randint(100000, 999999)}",
            "anonymous": False,
        }
        return {"grade": grade, "type": kind, "summary": summary,
                "location": location, "caller": caller}

    def _location(self) -> dict[str, Any]:
        # The draw for a marked address is made only when there are some, so a run without
        # markers is the same as before for the same seed.
        if self.marked and self.rng.random() < self.marked_chance:
            return dict(self.rng.choice(self.marked))
        address: Address = random_address(self.rng)
        return address.as_location()

    def attendance_delays(self, grade: str) -> tuple[float, float, float] | None:
        """Seconds after creation until (assigned, arrived, closed); None: never attended."""
        if grade == "R":
            return None
        target = {"I": 15 * 60, "S": 60 * 60, "E": 4 * 3600}[grade]
        # Most arrive inside the target; a tail arrives late (S breaches of hours happen).
        arrive = target * self.rng.lognormvariate(-0.45, 0.45)
        assign = arrive * self.rng.uniform(0.15, 0.6)
        close = arrive + self.rng.uniform(15, 90) * 60
        return assign, arrive, close

    def fleet(self, n: int) -> list[dict[str, Any]]:
        """``n`` unit create requests, spread over the boroughs, mostly IRVs: callsigns are the
        Met's borough code and a number (``CW11``, ``HT14``), positions near the borough."""
        boroughs = sorted(BOROUGHS)
        kinds = [k for k, _ in UNIT_KINDS]
        weights = [w for _, w in UNIT_KINDS]
        out = []
        for i in range(n):
            borough = boroughs[i % len(boroughs)]
            lat, lon = near(self.rng, borough)
            out.append({"callsign": f"{BOROUGH_CODES[borough]}{11 + i // len(boroughs)}",
                        "kind": self.rng.choices(kinds, weights=weights)[0],
                        "borough": borough, "lat": lat, "lon": lon})
        return out

    def divert_reason(self, incident: dict[str, Any]) -> str:
        """Why a unit is diverted to ``incident``, naming it (the server refuses a reason
        copied from any earlier one)."""
        reason = self.rng.choice(DIVERT_REASONS).format(type=incident["type"].lower())
        return f"{reason}: {incident['location']['address']}, {incident['ref']}"

    def rationale(self, incident: dict[str, Any]) -> str:
        """A closing rationale specific to the incident, never a copied template."""
        checks = self.rng.sample(CHECKS, 2)
        text = "; ".join(
            c.format(risk=self.rng.choice(RISKS), n1=self.rng.randint(1, 99),
                     n2=self.rng.randint(100, 199)) for c in checks)
        return (f"Attended {incident['location']['address']} ({incident['type'].lower()}), "
                f"{self.rng.choice(OUTCOMES)}; {text}. Ref {incident['ref']}.")


class Simulator:
    """Drives a backend with a :class:`Scenario` through the public API."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        rate_per_minute: float = 6.0,
        seed: int | None = None,
        speed: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        monotonic: Callable[[], float] | None = None,
        units: int = 0,
        divert_chance: float = 0.2,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        marked: list[dict[str, Any]] | None = None,
    ) -> None:
        self.scenario = Scenario(seed, marked)
        self.rate = rate_per_minute
        self.speed = speed
        self._username, self._password = username, password
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/") + API_PREFIX,
                                       transport=transport, timeout=10.0)
        self._now = monotonic or time.monotonic
        #: Injected with ``monotonic`` by tests that run a whole shift in virtual time.
        self._sleep = sleep or asyncio.sleep
        self._queue: list[_Due] = []
        self._order = itertools.count()
        self.created = 0
        self.closed = 0
        self.diverted = 0
        self._stopping = False
        self._units_wanted = units
        self._divert_chance = divert_chance
        self._role: str | None = None
        #: True when the backend has units: lives then go through the unit commands.
        self.fleet = False
        #: incident id -> the unit this simulator sent to it.
        self._sent: dict[int, int] = {}
        #: Until then (monotonic) the whole fleet was busy at the last look, so incidents
        #: waiting for a unit wait without asking the server again (a backlog of them would
        #: otherwise read the fleet every few seconds).
        self._fleet_busy_until = 0.0

    def stop(self) -> None:
        """Ask a running :meth:`run` to return within a second (safe from another thread)."""
        self._stopping = True

    def schedule(self, steps: list[tuple[float, str, dict[str, Any]]],
                 sent: dict[int, int] | None = None) -> None:
        """Carry on the lives of incidents created elsewhere: (seconds from now, action,
        incident) as returned by the demo's history player, and ``sent`` (incident id -> unit
        id) the units already on them, so that those arrive rather than another being sent."""
        self._sent.update(sent or {})
        now = self._now()
        for delay, action, incident in steps:
            heapq.heappush(self._queue, _Due(now + delay / self.speed, next(self._order),
                                             action, incident))

    async def sign_in(self) -> None:
        reply = await self._http.post("/auth/token", json={"username": self._username,
                                                           "password": self._password})
        if reply.status_code != 200:
            raise PermissionError(f"simulator sign-in as {self._username!r} refused: "
                                  f"{reply.status_code} {reply.text}")
        self._http.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
        self._role = reply.json().get("role")

    async def _set_up_fleet(self) -> None:
        if self._units_wanted > 0:
            if self._role == "supervisor":
                for body in self.scenario.fleet(self._units_wanted):
                    await self._command("POST", "/units", json=body)
            else:
                log.warning("simulator: only a supervisor may add units; %s is a %s",
                            self._username, self._role)
        reply = await self._http.get("/units")
        self.fleet = reply.status_code == 200 and bool(reply.json())

    async def run(self, *, max_incidents: int | None = None,
                  duration: float | None = None) -> None:
        """Create incidents until ``max_incidents`` or ``duration`` seconds (simulated time),
        then finish the lives of those already created only if no limit stops the run."""
        await self.sign_in()
        await self._set_up_fleet()
        start = self._now()
        next_call = start
        while not self._stopping:
            now = self._now()
            sim_elapsed = (now - start) * self.speed
            if duration is not None and sim_elapsed >= duration:
                return
            if (max_incidents is None or self.created < max_incidents) and now >= next_call:
                await self._create()
                next_call = now + self.scenario.next_gap(self.rate) / self.speed
            while self._queue and self._queue[0].at <= now:
                due = heapq.heappop(self._queue)
                await self._advance(due)
            if max_incidents is not None and self.created >= max_incidents and not self._queue:
                return
            # once the last incident is created, wait for the queue only (not a past call time,
            # which would spin)
            creating = max_incidents is None or self.created < max_incidents
            wake = min(([next_call] if creating else [])
                       + ([self._queue[0].at] if self._queue else []), default=now + 1.0)
            await self._sleep(max(0.0, min(wake - self._now(), 1.0)))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _create(self) -> None:
        body = self.scenario.new_incident()
        reply = await self._command("POST", "/incidents", json=body)
        if reply is None:
            return
        incident = reply.json()
        self.created += 1
        if (self.fleet and incident["grade"] == "I"
                and self.scenario.rng.random() < self._divert_chance):
            await self._divert_to(incident)
        delays = self.scenario.attendance_delays(incident["grade"])
        if delays is None:
            return
        now = self._now()
        for action, delay in zip(("assign", "arrive", "close"), delays, strict=True):
            heapq.heappush(self._queue, _Due(now + delay / self.speed, next(self._order),
                                             action, incident))

    async def _advance(self, due: _Due) -> None:
        if self.fleet:
            await self._advance_with_units(due)
            return
        incident = due.incident
        if due.action == "close":
            for _ in range(3):  # a refused rationale is rewritten, as an operator would
                reply = await self._command("POST", f"/incidents/{incident['id']}/close",
                                            json={"rationale": self.scenario.rationale(incident)})
                if reply is not None:
                    self.closed += 1
                    return
            return
        # Without units there is no assignment or arrival to send: the status follows the
        # units (the server refuses a status edit that the units contradict), so the incident
        # waits for a unit until it is closed.

    # --- with a fleet -----------------------------------------------------------------------

    def _later(self, minutes: float, action: str, incident: dict[str, Any]) -> None:
        heapq.heappush(self._queue, _Due(self._now() + minutes * 60 / self.speed,
                                         next(self._order), action, incident))

    async def _divert_to(self, urgent: dict[str, Any]) -> None:
        """Take a unit en route to an S-grade incident away to this I-grade one."""
        # One read of the fleet rather than one per unit sent: with a demo-sized fleet
        # hundreds of incidents have a unit, most of them already at scene.
        fleet = await self._http.get("/units")
        if fleet.status_code != 200:
            return
        en_route = {u["id"] for u in fleet.json() if u["status"] == "ASSIGNED"}
        for incident_id, unit_id in list(self._sent.items()):
            if unit_id not in en_route:
                continue
            current = await self._http.get(f"/incidents/{incident_id}")
            if current.status_code != 200 or current.json()["grade"] != "S":
                continue
            reply = await self._command("POST", f"/units/{unit_id}/divert", json={
                "incident_id": urgent["id"], "reason": self.scenario.divert_reason(urgent)})
            if reply is not None:
                del self._sent[incident_id]
                self._sent[urgent["id"]] = unit_id
                self.diverted += 1
                return

    async def _send_unit(self, incident: dict[str, Any]) -> bool:
        """Assign an available unit (the incident's borough first); False when none is free."""
        reply = await self._http.get("/units")
        if reply.status_code != 200:
            return False
        free = [u for u in reply.json() if u["status"] == "AVAILABLE"]
        if not free:
            self._fleet_busy_until = self._now() + 30 / self.speed
        borough = incident["location"]["borough"]
        free.sort(key=lambda u: (u["borough"] != borough, u["id"]))
        for unit in free[:3]:
            got = await self._command("POST", f"/units/{unit['id']}/assign",
                                      json={"incident_id": incident["id"]})
            if got is not None:
                self._sent[incident["id"]] = unit["id"]
                return True
        return False

    async def _unit_on(self, incident_id: int) -> dict[str, Any] | None:
        """The unit this simulator sent, if it is still on the incident."""
        unit_id = self._sent.get(incident_id)
        if unit_id is None:
            return None
        reply = await self._http.get(f"/units/{unit_id}")
        if reply.status_code != 200 or reply.json()["incident_id"] != incident_id:
            self._sent.pop(incident_id, None)
            return None
        return dict(reply.json())

    async def _advance_with_units(self, due: _Due) -> None:
        incident = due.incident
        if due.action == "free":  # a spell COMMITTED (custody, hospital) ends
            await self._command("POST", f"/units/{incident['unit_id']}/status",
                                json={"status": "AVAILABLE"})
            self._fleet_busy_until = 0.0
            return
        if (due.action in ("assign", "arrive") and incident["id"] not in self._sent
                and self._now() < self._fleet_busy_until):
            self._later(3, due.action, incident)  # nobody was free just now: ask later
            return
        current = await self._http.get(f"/incidents/{incident['id']}")
        if current.status_code != 200 or current.json()["status"] == "CLOSED":
            self._sent.pop(incident["id"], None)
            return
        unit = await self._unit_on(incident["id"])
        if due.action == "assign":
            if unit is None and not await self._send_unit(incident):
                self._later(3, "assign", incident)  # nobody free: try again shortly
            return
        if due.action == "arrive":
            if unit is None:  # diverted away (or never sent): find another unit
                if await self._send_unit(incident):
                    self._later(self.scenario.rng.uniform(5, 20), "arrive", incident)
                else:
                    self._later(3, "arrive", incident)
                return
            if unit["status"] == "ASSIGNED":
                await self._command("POST", f"/units/{unit['id']}/arrive", json={})
            return
        # close: only once attended (an owed incident waits for its unit)
        if current.json()["owed"] or current.json()["status"] != "AT_SCENE":
            self._later(10, "arrive" if unit is None else "close", incident)
            if unit is None:
                self._later(30, "close", incident)
            return
        for _ in range(3):
            reply = await self._command("POST", f"/incidents/{incident['id']}/close",
                                        json={"rationale": self.scenario.rationale(incident)})
            if reply is not None:
                self.closed += 1
                self._sent.pop(incident["id"], None)
                self._fleet_busy_until = 0.0  # the close stood its units down
                if unit is not None and self.scenario.rng.random() < 0.2:
                    got = await self._command("POST", f"/units/{unit['id']}/status",
                                              json={"status": "COMMITTED"})
                    if got is not None:
                        self._later(self.scenario.rng.uniform(20, 60), "free",
                                    {"unit_id": unit["id"]})
                return

    async def _command(self, method: str, path: str, *, json: dict[str, Any],
                       headers: dict[str, str] | None = None) -> httpx.Response | None:
        all_headers = {IDEMPOTENCY_HEADER: str(uuid.uuid4()), **(headers or {})}
        try:
            reply = await self._http.request(method, path, json=json, headers=all_headers)
        except httpx.TransportError as exc:
            log.warning("simulator: %s %s failed: %s", method, path, exc)
            return None
        if reply.status_code == 401:
            await self.sign_in()
            reply = await self._http.request(method, path, json=json, headers=all_headers)
        if reply.status_code >= 400:
            log.info("simulator: %s %s refused %s: %s", method, path, reply.status_code,
                     reply.text[:200])
            return None
        return reply
