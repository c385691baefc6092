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
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from dispatchdesk.protocol import API_PREFIX, IDEMPOTENCY_HEADER
from dispatchdesk.server.simulation.lifecycle import Action, Attendance, Later, Planner
from dispatchdesk.server.simulation.lives import advance, start_life
from dispatchdesk.server.simulation.scenario import Scenario

log = logging.getLogger(__name__)


@dataclass(order=True)
class _Due:
    at: float
    order: int
    action: Action = field(compare=False)
    incident: dict[str, Any] = field(compare=False)


class Simulator:
    """Drives a backend with a :class:`Scenario` through the public API: the lives'
    executor over HTTP (see :mod:`.lives`)."""

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
        self.planner = Planner(self.scenario, divert_chance)
        self.rate = rate_per_minute
        self.speed = speed
        self._username, self._password = username, password
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + API_PREFIX, transport=transport, timeout=10.0
        )
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

    def schedule(
        self, steps: list[tuple[float, Action, dict[str, Any]]], sent: dict[int, int] | None = None
    ) -> None:
        """Carry on the lives of incidents created elsewhere: (seconds from now, action,
        incident) as returned by the demo's history player, and ``sent`` (incident id -> unit
        id) the units already on them, so that those arrive rather than another being sent."""
        self._sent.update(sent or {})
        now = self._now()
        for delay, action, incident in steps:
            heapq.heappush(
                self._queue, _Due(now + delay / self.speed, next(self._order), action, incident)
            )

    async def sign_in(self) -> None:
        reply = await self._http.post(
            "/auth/token", json={"username": self._username, "password": self._password}
        )
        if reply.status_code != 200:
            raise PermissionError(
                f"simulator sign-in as {self._username!r} refused: {reply.status_code} {reply.text}"
            )
        self._http.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
        self._role = reply.json().get("role")

    async def _set_up_fleet(self) -> None:
        if self._units_wanted > 0:
            if self._role == "supervisor":
                for body in self.scenario.fleet(self._units_wanted):
                    await self._command("POST", "/units", json=body)
            else:
                log.warning(
                    "simulator: only a supervisor may add units; %s is a %s",
                    self._username,
                    self._role,
                )
        reply = await self._http.get("/units")
        self.fleet = reply.status_code == 200 and bool(reply.json())

    async def run(self, *, max_incidents: int | None = None, duration: float | None = None) -> None:
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
            wake = min(
                ([next_call] if creating else []) + ([self._queue[0].at] if self._queue else []),
                default=now + 1.0,
            )
            await self._sleep(max(0.0, min(wake - self._now(), 1.0)))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _create(self) -> None:
        body = self.scenario.new_incident()
        reply = await self._command("POST", "/incidents", json=body)
        if reply is None:
            return
        self.created += 1
        await start_life(self.planner, self, reply.json(), fleet=self.fleet)

    async def _advance(self, due: _Due) -> None:
        if self.fleet:
            if (
                due.action in ("assign", "arrive")
                and due.incident["id"] not in self._sent
                and self._now() < self._fleet_busy_until
            ):
                # nobody was free just now: ask later
                self.later(Later(3 * 60, due.action, due.incident))
                return
            await advance(self.planner, self, due.action, due.incident)
            return
        incident = due.incident
        if due.action == "close":
            for _ in range(3):  # a refused rationale is rewritten, as an operator would
                if await self.close(incident, self.planner.rationale(incident)):
                    return
            return
        # Without units there is no assignment or arrival to send: the status follows the
        # units (the server refuses a status edit that the units contradict), so the incident
        # waits for a unit until it is closed.

    # --- the lives' executor over HTTP (with a fleet) ------------------------------------------

    def later(self, step: Later) -> None:
        heapq.heappush(
            self._queue,
            _Due(
                self._now() + step.seconds / self.speed,
                next(self._order),
                step.action,
                step.incident,
            ),
        )

    async def en_route_units(self) -> AsyncGenerator[tuple[int, int], None]:
        # One read of the fleet rather than one per unit sent: with a demo-sized fleet
        # hundreds of incidents have a unit, most of them already at scene.
        fleet = await self._http.get("/units")
        if fleet.status_code != 200:
            return
        status = {u["id"]: u["status"] for u in fleet.json()}
        for incident_id, unit_id in list(self._sent.items()):
            if not self.planner.divertable_unit(status.get(unit_id, "")):
                continue
            current = await self._http.get(f"/incidents/{incident_id}")
            if current.status_code == 200 and self.planner.divertable_from(current.json()["grade"]):
                yield incident_id, unit_id

    async def divert(
        self, unit_id: int, from_incident: int, urgent: dict[str, Any], reason: str
    ) -> bool:
        reply = await self._command(
            "POST", f"/units/{unit_id}/divert", json={"incident_id": urgent["id"], "reason": reason}
        )
        if reply is None:
            return False
        del self._sent[from_incident]
        self._sent[urgent["id"]] = unit_id
        self.diverted += 1
        return True

    async def send(self, incident: dict[str, Any]) -> bool:
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
            got = await self._command(
                "POST", f"/units/{unit['id']}/assign", json={"incident_id": incident["id"]}
            )
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

    async def attendance(self, incident: dict[str, Any]) -> Attendance | None:
        current = await self._http.get(f"/incidents/{incident['id']}")
        if current.status_code != 200 or current.json()["status"] == "CLOSED":
            self._sent.pop(incident["id"], None)
            return None
        unit = await self._unit_on(incident["id"])
        return Attendance(
            unit_id=None if unit is None else int(unit["id"]),
            en_route=unit is not None and unit["status"] == "ASSIGNED",
            attended=not current.json()["owed"] and current.json()["status"] == "AT_SCENE",
        )

    async def arrive(self, unit_id: int, incident: dict[str, Any]) -> None:
        await self._command("POST", f"/units/{unit_id}/arrive", json={})

    async def record_tasks(self, incident: dict[str, Any]) -> None:
        current = await self._http.get(f"/incidents/{incident['id']}")
        if current.status_code != 200:
            return
        for task in current.json().get("tasks", []):
            if task["state"] != "OPEN":
                continue
            if task["kind"] == "HISTORY_CHECK":  # the officers read the history first
                opened = await self._http.get(f"/incidents/{incident['id']}/history")
                if opened.status_code != 200:
                    continue
            await self._command(
                "POST",
                f"/incidents/{incident['id']}/tasks/{task['id']}/done",
                json={"outcome": self.planner.task_outcome(incident, task)},
            )

    async def close(self, incident: dict[str, Any], rationale: str) -> bool:
        reply = await self._command(
            "POST", f"/incidents/{incident['id']}/close", json={"rationale": rationale}
        )
        if reply is None:
            return False
        self.closed += 1
        self._sent.pop(incident["id"], None)
        self._fleet_busy_until = 0.0  # the close stood its units down
        return True

    async def set_status(self, unit_id: int, status: str) -> bool:
        got = await self._command("POST", f"/units/{unit_id}/status", json={"status": status})
        if status == "AVAILABLE":  # a spell COMMITTED ended: a unit may be free now
            self._fleet_busy_until = 0.0
        return got is not None

    async def _command(
        self, method: str, path: str, *, json: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response | None:
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
            log.info(
                "simulator: %s %s refused %s: %s", method, path, reply.status_code, reply.text[:200]
            )
            return None
        return reply
