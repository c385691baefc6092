"""How many SQL statements the features' commands run (issue 14: at 500 commands/s each
statement costs tens of µs of Python, and a round trip on PostgreSQL).

The counts are pinned per command of the throughput mix (create an incident, edit it with
If-Match, assign a unit, arrive, clear), on both databases, so a read added to a command is a
decision, not an accident. Only the features' own statements are counted: the runner's
(idempotency, change log, audit, the log lock) are the runner's business.

Each reply is checked too: what the commands no longer read (an owed row, DIVERT tags, links,
tasks the incident does not have) must still show as the read would have.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol.schemas import (
    AssignRequest,
    ClearRequest,
    IncidentCreate,
    IncidentPatch,
    UnitCreate,
)
from dispatchdesk.server import ServerSettings
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import make_engine, ref_counters
from dispatchdesk.server.features.incidents.records import make_ref
from dispatchdesk.server.runner import CommandResult, Idem
from dispatchdesk.server.services import Services

#: A statement of the runner: the idempotency record, the change log and its lock, the audit.
RUNNER = re.compile(
    r"\b(?:INTO|UPDATE|FROM)\s+(?:idempotency|changes|log_head|audit_head|audit)\b|^BEGIN",
    re.IGNORECASE,
)

LOCATION = {"address": "1 High Street", "postcode": "SW1A 1AA", "borough": "Westminster"}
SUE = User("sue", Role.SUPERVISOR)


class Counted:
    """The services over their own engine, and the features' statements of each command."""

    def __init__(self, settings: ServerSettings) -> None:
        self.engine = make_engine(settings.db_url)
        self.services = Services.open(self.engine, settings, lambda: None)
        self.statements: list[str] = []
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        #: The statements that give a new incident its reference: the day's counter, then the
        #: reference (one statement on PostgreSQL).
        self.reference = 1 if self.engine.dialect.name == "postgresql" else 2

    def _seen(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        text = " ".join(statement.split())
        if not RUNNER.search(text):
            self.statements.append(text)

    def run(self, command: Callable[[Idem], CommandResult]) -> tuple[dict[str, Any], list[str]]:
        """The command's reply and its features' statements."""
        self.statements = []
        result = command(Idem(uuid.uuid4().hex, "test", uuid.uuid4().hex))
        return result.body, self.statements

    def create(self, **over: Any) -> tuple[dict[str, Any], list[str]]:
        body = IncidentCreate.model_validate(
            {"grade": "S", "type": "Burglary", "summary": "Break-in at the rear"}
            | {"location": LOCATION}
            | over
        )
        return self.run(lambda idem: self.services.incidents.create_incident(SUE, body, idem))

    def edit(self, incident: dict[str, Any], summary: str) -> tuple[dict[str, Any], list[str]]:
        patch = IncidentPatch.model_validate({"summary": summary})
        incidents = self.services.incidents
        return self.run(
            lambda idem: incidents.patch_incident(
                SUE, incident["id"], patch, incident["version"], idem
            )
        )

    def assign(self, unit: int, incident: int) -> tuple[dict[str, Any], list[str]]:
        body = AssignRequest.model_validate({"incident_id": incident})
        return self.run(lambda idem: self.services.units.assign(SUE, unit, body, None, idem))

    def arrive(self, unit: int) -> tuple[dict[str, Any], list[str]]:
        return self.run(lambda idem: self.services.units.arrive(SUE, unit, None, idem))

    def clear(self, unit: int, reason: str | None = None) -> tuple[dict[str, Any], list[str]]:
        body = ClearRequest.model_validate({"reason": reason})
        return self.run(lambda idem: self.services.units.clear(SUE, unit, body, None, idem))


@pytest.fixture
def counted(settings: ServerSettings) -> Iterator[Counted]:
    c = Counted(settings)
    fleet = [
        UnitCreate.model_validate({"callsign": f"LX{i}", "kind": "IRV", "borough": "Westminster"})
        for i in (1, 2)
    ]
    c.services.units.create_units(SUE, fleet)
    c.create()  # the day's first incident also makes the day's reference counter
    yield c
    c.engine.dispose()


def _explain(statements: list[str]) -> str:
    return "\n".join(s[:140] for s in statements)


def test_the_throughput_mix_runs_the_pinned_statements(counted: Counted) -> None:
    # create: the row, its history keys, the day's counter and its reference (one statement on
    # PostgreSQL); no task read: a new incident has none
    incident, sql = counted.create()
    assert len(sql) == 2 + counted.reference, _explain(sql)
    assert (incident["tasks"], incident["links"], incident["diverts"]) == ([], [], [])
    # edit: the locked row, its update (which reads what the reply needs)
    edited, sql = counted.edit(incident, "Break-in at the rear, door forced")
    assert len(sql) == 2, _explain(sql)
    assert edited["version"] == 2 and edited["owed"] is False and edited["escalated_at"] is None
    assert (edited["tasks"], edited["links"], edited["diverts"]) == ([], [], [])
    # assign: the unit and the incident locked, the move (which counts the units on the
    # incident and reads its owed row), the incident's status
    unit, sql = counted.assign(1, incident["id"])
    assert len(sql) == 4, _explain(sql)
    assert unit["status"] == "ASSIGNED"
    # arrive: the same four (no owed row to delete, no DIVERT tag to release)
    _, sql = counted.arrive(1)
    assert len(sql) == 4, _explain(sql)
    # clear from scene: no reason, so the other units are not read; the incident stays at
    # scene (attended), so it is not written
    _, sql = counted.clear(1)
    assert len(sql) == 3, _explain(sql)
    after = counted.services.incidents.get_incident(incident["id"])
    assert after.status.value == "AT_SCENE" and after.version == 4


def test_owed_incident_and_its_lists_are_written_and_read_when_there(counted: Counted) -> None:
    """The writes and reads a command skips when it knows they change or find nothing run
    when they would: a withdrawal makes the incident owed, the next assignment ends its wait,
    the arrival releases it, and the tasks and DIVERT tag are in every reply."""
    incident, sql = counted.create(type="Domestic", caller={"name": "J Smith", "phone": "0770"})
    # + the caller's history key; all the policy's tasks in one statement, not read back
    assert len(incident["tasks"]) > 1 and len(sql) == 2 + counted.reference + 1 + 1, _explain(sql)
    counted.assign(1, incident["id"])
    _, sql = counted.clear(1, "Vehicle broke down on the way, tyre burst")
    assert any("INSERT INTO owed" in s for s in sql), _explain(sql)
    owed = counted.services.incidents.get_incident(incident["id"])
    assert owed.owed and [d.kind.value for d in owed.diverts] == ["WITHDRAWN"]
    # assign to an owed incident: its wait ends (the owed row is written)
    _, sql = counted.assign(2, incident["id"])
    assert len(sql) == 4 + 1 + 2, _explain(sql)  # + owed row; + tags and tasks read
    assert any(s.startswith("UPDATE owed") for s in sql), _explain(sql)
    # arrive: the owed row deleted and the tag released
    _, sql = counted.arrive(2)
    assert sum(s.startswith(("DELETE FROM owed", "UPDATE diverts")) for s in sql) == 2
    there = counted.services.incidents.get_incident(incident["id"])
    assert not there.owed and there.diverts[0].released_at is not None
    assert [t.id for t in there.tasks] == [t["id"] for t in incident["tasks"]]
    # an edit reads the lists it has, and only those
    edited, sql = counted.edit(there.model_dump(mode="json"), "Shouting next door, now quiet")
    assert len(sql) == 2 + 2, _explain(sql)
    assert edited["tasks"] == [t.model_dump(mode="json") for t in there.tasks]
    assert edited["diverts"] == [d.model_dump(mode="json") for d in there.diverts]


def test_references_past_9999_are_written_as_make_ref_writes_them(counted: Counted) -> None:
    """The day's counter at 9998: the next references are CAD 9999/... and CAD 10000/... on
    both databases (PostgreSQL writes them in SQL), then the next day starts at 0001."""
    clock = counted.services.runner.settings.clock
    local = counted.services.runner.now().astimezone(counted.services.runner.tz())
    with counted.engine.begin() as conn:
        conn.execute(
            ref_counters.update()
            .where(ref_counters.c.day == local.date().isoformat())
            .values(n=9998)
        )
    refs = [counted.create()[0]["ref"] for _ in range(2)]
    assert refs == [make_ref(9999, local), make_ref(10000, local)]
    assert refs[1] == f"CAD 10000/{local.strftime('%d%b%y').upper()}"
    clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    tomorrow = counted.services.runner.now().astimezone(counted.services.runner.tz())
    assert counted.create()[0]["ref"] == make_ref(1, tomorrow)
    assert counted.create()[0]["ref"] == make_ref(2, tomorrow)
