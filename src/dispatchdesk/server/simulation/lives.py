"""Running the :class:`~.lifecycle.Planner`'s decisions through an :class:`Executor`.

Two executors: the simulator (HTTP against any backend, live) and the demo's history
(:mod:`.seeding`: the server's command layer in-process, at virtual times). Both run the same
lives through the functions here; only how a command is sent and how an incident is seen
differ.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, Protocol

from dispatchdesk.server.simulation.lifecycle import Action, Attendance, Later, Planner


class Executor(Protocol):
    """Sends the planner's commands and schedules its steps. A refused command returns False
    (or is simply not done), as a shift would leave it."""

    def later(self, step: Later) -> None: ...

    async def attendance(self, incident: dict[str, Any]) -> Attendance | None:
        """What is seen of the incident now; None when it is closed (or gone)."""

    async def send(self, incident: dict[str, Any]) -> bool:
        """Assign a free unit; False when none is free (or none would take it)."""

    async def arrive(self, unit_id: int, incident: dict[str, Any]) -> None: ...

    async def record_tasks(self, incident: dict[str, Any]) -> None:
        """Record the incident's open tasks done, as its officers report them (a history
        check after opening the incident's history); a refused one is left open."""

    async def close(self, incident: dict[str, Any], rationale: str) -> bool: ...

    async def set_status(self, unit_id: int, status: str) -> bool: ...

    def en_route_units(self) -> AsyncGenerator[tuple[int, int], None]:
        """(incident id, unit id) of the units this run sent that may be diverted (the
        planner's ``divertable_unit`` and ``divertable_from``), in the order they were sent."""

    async def divert(
        self, unit_id: int, from_incident: int, urgent: dict[str, Any], reason: str
    ) -> bool: ...


async def start_life(
    planner: Planner, executor: Executor, incident: dict[str, Any], *, fleet: bool
) -> None:
    """A new call: perhaps a divert to it, then its steps scheduled."""
    if planner.wants_divert(incident, fleet=fleet):
        await divert_to(planner, executor, incident)
    for step in planner.attendance(incident):
        executor.later(step)


async def divert_to(planner: Planner, executor: Executor, urgent: dict[str, Any]) -> bool:
    """Take a unit en route to an S-grade incident away to this I-grade one."""
    async with aclosing(executor.en_route_units()) as candidates:
        async for incident_id, unit_id in candidates:
            reason = planner.divert_reason(urgent)
            if await executor.divert(unit_id, incident_id, urgent, reason):
                return True
    return False


async def advance(
    planner: Planner, executor: Executor, action: Action, incident: dict[str, Any]
) -> None:
    """Run one due step of an incident's life (with a fleet)."""
    if action == "free":  # a spell COMMITTED (custody, hospital) ends
        await executor.set_status(int(incident["unit_id"]), "AVAILABLE")
        return
    seen = await executor.attendance(incident)
    if seen is None:
        return
    decision = planner.step(action, incident, seen)
    for step in decision.later:
        executor.later(step)
    if decision.command == "send":
        followup = planner.after_send(action, incident, await executor.send(incident))
        if followup is not None:
            executor.later(followup)
    elif decision.command == "arrive" and seen.unit_id is not None:
        await executor.arrive(seen.unit_id, incident)
    elif decision.command == "close":
        await _close(planner, executor, incident, seen.unit_id)


async def _close(
    planner: Planner, executor: Executor, incident: dict[str, Any], unit_id: int | None
) -> None:
    await executor.record_tasks(incident)
    for _ in range(3):  # a refused rationale is rewritten, as an operator would
        if await executor.close(incident, planner.rationale(incident)):
            break
    else:
        return
    if (
        unit_id is not None
        and planner.spell_after_close(unit_id)
        and await executor.set_status(unit_id, "COMMITTED")
    ):
        executor.later(planner.spell_end(unit_id))
