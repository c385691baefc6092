"""The lifecycle planner: what happens next in an incident's life, as a shift would do it.

Pure: no I/O, no HTTP, no database, no clock. It is given what an executor sees of an
incident (:class:`Attendance`) and draws from the run's seeded :class:`Scenario`; it returns
the next command (:class:`Decision`) and the steps to schedule (:class:`Later`, seconds from
now). Two executors run its decisions (:mod:`.lives` is the glue): the simulator over HTTP
against any backend, and the demo's history through the server's command layer in-process, at
virtual times. The same seed and the same sightings give the same plan.

An incident's life with a fleet: a unit is assigned (the nearest free one), arrives, and the
incident is closed with a rationale written for it; now and then the unit then has a spell
COMMITTED (custody, hospital) before it is free again. A new I-grade call sometimes takes a
unit en route to an S-grade incident away from it: the S incident is then owed, and another
unit is found for it when its next step comes and one is free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from dispatchdesk.server.simulation.scenario import Scenario

#: A step of an incident's life; "free" ends a unit's spell COMMITTED.
Action = Literal["assign", "arrive", "close", "free"]
#: The command an executor sends for a due step ("wait": none, only the steps to schedule).
Command = Literal["send", "arrive", "close", "wait"]

#: Seconds before asking again for a free unit when the whole fleet is busy.
RETRY_SEND = 3 * 60.0
#: How often a closed incident's unit then has a spell COMMITTED.
SPELL_CHANCE = 0.2


@dataclass(frozen=True)
class Later:
    """A step to run ``seconds`` from now; ``incident`` is the incident as created (for
    "free": ``{"unit_id": ...}``)."""

    seconds: float
    action: Action
    incident: dict[str, Any]


@dataclass(frozen=True)
class Attendance:
    """What an executor sees of a (not closed) incident when one of its steps is due."""

    #: The unit this run sent that is still on the incident, if any.
    unit_id: int | None
    #: That unit is on its way (ASSIGNED), not yet at the scene.
    en_route: bool
    #: A unit is at the scene and the incident is not owed: it may be closed.
    attended: bool


@dataclass(frozen=True)
class Decision:
    command: Command
    later: tuple[Later, ...] = ()


NOTHING = Decision("wait")


class Planner:
    """Decides each step of each incident's life from one :class:`Scenario`."""

    def __init__(self, scenario: Scenario, divert_chance: float) -> None:
        self.scenario = scenario
        #: How often a new I-grade call takes a unit from an S-grade incident.
        self.divert_chance = divert_chance

    def wants_divert(self, incident: dict[str, Any], *, fleet: bool) -> bool:
        """Whether this new call takes a unit en route to an S-grade incident (drawn only for
        an I-grade call when there is a fleet)."""
        return (
            fleet and incident["grade"] == "I" and self.scenario.rng.random() < self.divert_chance
        )

    @staticmethod
    def divertable_unit(unit_status: str) -> bool:
        """A unit may be diverted only while on its way (not once at the scene)."""
        return unit_status == "ASSIGNED"

    @staticmethod
    def divertable_from(grade: str) -> bool:
        """A unit may be taken only from an S-grade incident."""
        return grade == "S"

    def divert_reason(self, urgent: dict[str, Any]) -> str:
        return self.scenario.divert_reason(urgent)

    def attendance(self, incident: dict[str, Any]) -> list[Later]:
        """A new incident's assign, arrive and close steps; none for an R-grade call."""
        delays = self.scenario.attendance_delays(incident["grade"])
        if delays is None:
            return []
        actions: tuple[Action, ...] = ("assign", "arrive", "close")
        return [
            Later(delay, action, incident) for action, delay in zip(actions, delays, strict=True)
        ]

    def step(self, action: Action, incident: dict[str, Any], seen: Attendance) -> Decision:
        """The command for a due assign, arrive or close step of an incident not closed."""
        if action in ("assign", "arrive") and seen.unit_id is None:
            return Decision("send")  # diverted away, never sent, or nobody was free
        if action == "assign":
            return NOTHING
        if action == "arrive":
            return Decision("arrive") if seen.en_route else NOTHING
        if seen.attended:
            return Decision("close")
        # close only once attended (an owed incident waits for its unit)
        if seen.unit_id is None:
            return Decision(
                "wait", (Later(10 * 60, "arrive", incident), Later(30 * 60, "close", incident))
            )
        return Decision("wait", (Later(10 * 60, "close", incident),))

    def after_send(self, action: Action, incident: dict[str, Any], sent: bool) -> Later | None:
        """What follows sending a unit for ``action``: when nobody was free, the same step
        again shortly; a unit sent for an overdue arrival arrives 5-20 minutes later."""
        if not sent:
            return Later(RETRY_SEND, action, incident)
        if action == "arrive":
            return Later(self.scenario.rng.uniform(5, 20) * 60, "arrive", incident)
        return None

    def task_outcome(self, incident: dict[str, Any], task: dict[str, Any]) -> str:
        """What the attending officers report for one of the incident's tasks."""
        return self.scenario.task_outcome(incident, task)

    def rationale(self, incident: dict[str, Any]) -> str:
        """A closing rationale written for the incident (a refused one is rewritten)."""
        return self.scenario.rationale(incident)

    def spell_after_close(self, unit_id: int | None) -> bool:
        """Whether the unit that attended goes COMMITTED after the close."""
        return unit_id is not None and self.scenario.rng.random() < SPELL_CHANCE

    def spell_end(self, unit_id: int) -> Later:
        return Later(self.scenario.rng.uniform(20, 60) * 60, "free", {"unit_id": unit_id})
