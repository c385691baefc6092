"""The lifecycle planner alone: pure (no server, no clock), the same seed gives the same plan,
and the lives it plans keep the rules a shift keeps. A shift is run here against an in-memory
executor that checks every command as the server would and records it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from dispatchdesk.domain.rationale import rationale_problem
from dispatchdesk.server.simulation.lifecycle import Attendance, Decision, Later, Planner
from dispatchdesk.server.simulation.lives import advance, start_life
from dispatchdesk.server.simulation.scenario import Scenario


class Shift:
    """A fleet and incidents in memory, and the executor of the planner's commands. Each
    command is checked as the server would (a unit on one incident at a time, arrive only en
    route, close only when attended, a divert only with its own reason) and logged."""

    def __init__(self, seed: int, *, units: int = 6, divert_chance: float = 0.6) -> None:
        self.planner = Planner(Scenario(seed), divert_chance)
        self.t = 0.0
        self.due: list[tuple[float, int, str, dict[str, Any]]] = []
        self.order = itertools.count()
        self.status = {u: "AVAILABLE" for u in range(1, units + 1)}
        self.on: dict[int, int] = {}  # unit id -> incident id
        self.incidents: dict[int, dict[str, Any]] = {}
        self.reasons: list[tuple[int, str]] = []  # (incident id, divert reason)
        self.rationales: list[str] = []
        self.log: list[tuple[Any, ...]] = []

    def run(self, calls: int, rate: float = 0.5) -> list[tuple[Any, ...]]:
        asyncio.run(self._run(calls, rate))
        return self.log

    async def _run(self, calls: int, rate: float) -> None:
        next_call = 0.0
        while calls or self.due:
            if calls and (not self.due or next_call <= self.due[0][0]):
                self.t = next_call
                await self._call()
                calls -= 1
                next_call += self.planner.scenario.next_gap(rate)
                continue
            self.t, _, action, incident = heapq.heappop(self.due)
            await advance(self.planner, self, action, incident)  # type: ignore[arg-type]

    async def _call(self) -> None:
        n = len(self.incidents) + 1
        incident = self.planner.scenario.new_incident() | {"id": n, "ref": f"CAD {n:04d}"}
        self.incidents[n] = incident | {"status": "OPEN", "owed": False}
        self.log.append(("create", n, incident["grade"], incident["type"]))
        await start_life(self.planner, self, incident, fleet=True)

    def unit_on(self, incident_id: int) -> int | None:
        return next((u for u, i in self.on.items() if i == incident_id), None)

    # --- the executor ------------------------------------------------------------------------

    def later(self, step: Later) -> None:
        assert step.seconds > 0
        heapq.heappush(
            self.due, (self.t + step.seconds, next(self.order), step.action, step.incident)
        )

    async def attendance(self, incident: dict[str, Any]) -> Attendance | None:
        current = self.incidents[incident["id"]]
        if current["status"] == "CLOSED":
            return None
        unit = self.unit_on(incident["id"])
        status = None if unit is None else self.status[unit]
        return Attendance(unit, status == "ASSIGNED", status == "AT_SCENE" and not current["owed"])

    async def send(self, incident: dict[str, Any]) -> bool:
        free = [u for u, s in self.status.items() if s == "AVAILABLE"]
        if not free:
            return False
        assert free[0] not in self.on and self.incidents[incident["id"]]["status"] != "CLOSED"
        self.status[free[0]], self.on[free[0]] = "ASSIGNED", incident["id"]
        self.log.append(("assign", free[0], incident["id"], round(self.t, 6)))
        return True

    async def arrive(self, unit_id: int, incident: dict[str, Any]) -> None:
        assert self.on[unit_id] == incident["id"] and self.status[unit_id] == "ASSIGNED"
        self.status[unit_id] = "AT_SCENE"
        self.incidents[incident["id"]]["owed"] = False
        self.log.append(("arrive", unit_id, incident["id"], round(self.t, 6)))

    async def record_tasks(self, incident: dict[str, Any]) -> None:
        assert self.incidents[incident["id"]]["status"] != "CLOSED"  # only before a close

    async def close(self, incident: dict[str, Any], rationale: str) -> bool:
        unit = self.unit_on(incident["id"])
        assert unit is not None and self.status[unit] == "AT_SCENE", "closed unattended"
        assert not self.incidents[incident["id"]]["owed"]
        if rationale_problem(rationale, self.rationales) is not None:
            return False  # the server refuses a copy: the planner writes another
        self.rationales.append(rationale)
        self.incidents[incident["id"]]["status"] = "CLOSED"
        del self.on[unit]
        self.status[unit] = "AVAILABLE"
        self.log.append(("close", incident["id"], rationale, round(self.t, 6)))
        return True

    async def set_status(self, unit_id: int, status: str) -> bool:
        assert unit_id not in self.on, "a unit on an incident is moved by the unit commands"
        self.status[unit_id] = status
        self.log.append(("status", unit_id, status, round(self.t, 6)))
        return True

    async def en_route_units(self) -> AsyncGenerator[tuple[int, int], None]:
        for unit, incident_id in list(self.on.items()):
            if self.planner.divertable_unit(self.status[unit]) and self.planner.divertable_from(
                self.incidents[incident_id]["grade"]
            ):
                yield incident_id, unit

    async def divert(
        self, unit_id: int, from_incident: int, urgent: dict[str, Any], reason: str
    ) -> bool:
        assert self.on[unit_id] == from_incident and self.status[unit_id] == "ASSIGNED"
        assert self.incidents[from_incident]["grade"] == "S" and urgent["grade"] == "I"
        others = [text for incident_id, text in self.reasons if incident_id != urgent["id"]]
        assert rationale_problem(reason, others, what="divert reason") is None, reason
        self.reasons.append((urgent["id"], reason))
        self.on[unit_id] = urgent["id"]
        self.incidents[from_incident]["owed"] = True
        self.log.append(("divert", unit_id, from_incident, urgent["id"], reason))
        return True


def test_same_seed_same_plan() -> None:
    first = Shift(seed=7).run(calls=40)
    assert first == Shift(seed=7).run(calls=40)
    assert first != Shift(seed=8).run(calls=40)


def test_a_shift_keeps_the_rules_and_ends_with_every_attended_incident_closed() -> None:
    shift = Shift(seed=3, units=5)
    log = shift.run(calls=60)  # every command was checked by the executor as it ran
    kinds = {entry[0] for entry in log}
    assert kinds >= {"create", "assign", "arrive", "close", "divert", "status"}
    assert not shift.on and all(s == "AVAILABLE" for s in shift.status.values())
    for incident in shift.incidents.values():
        assert incident["status"] == ("OPEN" if incident["grade"] == "R" else "CLOSED")
        assert not incident["owed"]


def test_units_leave_an_incident_before_arriving_only_by_a_divert_naming_its_reason() -> None:
    shift = Shift(seed=12, units=4, divert_chance=1.0)
    log = shift.run(calls=150)
    diverts = [entry for entry in log if entry[0] == "divert"]
    assert len(diverts) >= 5
    for _, _unit, _from, to, reason in diverts:
        urgent = shift.incidents[to]
        # specific to the incident it goes to: its address and its reference
        assert urgent["location"]["address"] in reason and urgent["ref"] in reason
    assert len({reason for *_, reason in diverts}) == len(diverts)
    # the planner never stands a unit down from an incident any other way before it arrives
    # (no withdrawal, which would need a reason of its own)
    assert {entry[0] for entry in log} <= {
        "create",
        "assign",
        "arrive",
        "close",
        "divert",
        "status",
    }
    assert {entry[2] for entry in log if entry[0] == "status"} <= {"COMMITTED", "AVAILABLE"}


SEEN_NONE = Attendance(unit_id=None, en_route=False, attended=False)
SEEN_EN_ROUTE = Attendance(unit_id=4, en_route=True, attended=False)
SEEN_AT_SCENE = Attendance(unit_id=4, en_route=False, attended=True)
SEEN_OWED_AT_SCENE = Attendance(unit_id=4, en_route=False, attended=False)
INCIDENT = {
    "id": 1,
    "grade": "S",
    "ref": "CAD 0001",
    "type": "Theft",
    "location": {"address": "1 High Street"},
}


@pytest.mark.parametrize(
    ("action", "seen", "expected"),
    [
        ("assign", SEEN_NONE, Decision("send")),
        ("assign", SEEN_EN_ROUTE, Decision("wait")),
        ("arrive", SEEN_NONE, Decision("send")),
        ("arrive", SEEN_EN_ROUTE, Decision("arrive")),
        ("arrive", SEEN_AT_SCENE, Decision("wait")),
        ("close", SEEN_AT_SCENE, Decision("close")),
        ("close", SEEN_EN_ROUTE, Decision("wait", (Later(600, "close", INCIDENT),))),
        ("close", SEEN_OWED_AT_SCENE, Decision("wait", (Later(600, "close", INCIDENT),))),
        (
            "close",
            SEEN_NONE,
            Decision("wait", (Later(600, "arrive", INCIDENT), Later(1800, "close", INCIDENT))),
        ),
    ],
)
def test_a_step_is_decided_from_what_is_seen_without_drawing(
    action: str, seen: Attendance, expected: Decision
) -> None:
    planner = Planner(Scenario(1), divert_chance=0.2)
    before = planner.scenario.rng.getstate()
    assert planner.step(action, INCIDENT, seen) == expected  # type: ignore[arg-type]
    assert planner.scenario.rng.getstate() == before


def test_no_unit_free_asks_again_shortly_and_an_overdue_unit_arrives_within_20_minutes() -> None:
    planner = Planner(Scenario(2), divert_chance=0.2)
    assert planner.after_send("assign", INCIDENT, False) == Later(180, "assign", INCIDENT)
    assert planner.after_send("arrive", INCIDENT, False) == Later(180, "arrive", INCIDENT)
    assert planner.after_send("assign", INCIDENT, True) is None
    step = planner.after_send("arrive", INCIDENT, True)
    assert step is not None and step.action == "arrive" and 300 <= step.seconds <= 1200


def test_only_i_grade_calls_take_a_unit_and_only_with_a_fleet() -> None:
    planner = Planner(Scenario(4), divert_chance=1.0)
    state = planner.scenario.rng.getstate()
    assert not planner.wants_divert({"grade": "S"}, fleet=True)
    assert not planner.wants_divert({"grade": "I"}, fleet=False)
    assert planner.scenario.rng.getstate() == state  # no draw: a run without units unchanged
    assert planner.wants_divert({"grade": "I"}, fleet=True)
    assert planner.divertable_unit("ASSIGNED") and not planner.divertable_unit("AT_SCENE")
    assert planner.divertable_from("S") and not planner.divertable_from("I")
    assert planner.attendance({"grade": "R"}) == []
    steps = planner.attendance({"grade": "E"})
    assert [s.action for s in steps] == ["assign", "arrive", "close"]
    assert steps[0].seconds < steps[1].seconds < steps[2].seconds
