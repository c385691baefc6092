"""Task rows as the wire shows them, and the policy's tasks made for an incident row (used
inside the incidents feature's own commands: create, edit, close)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from dispatchdesk.domain.tasks import (
    Informant,
    Task,
    TaskKind,
    TaskPolicy,
    TaskState,
)
from dispatchdesk.protocol.tasks import TaskModel
from dispatchdesk.server.db import incident_tasks

#: Roles (issue 11) of a caller who is not an informant, and of a person who is.
VICTIM = "VICTIM"
INFORMANT = "INFORMANT"


def task_out(row: Row[Any]) -> TaskModel:
    return TaskModel(
        id=row.id,
        kind=TaskKind(row.kind),
        state=TaskState(row.state),
        detail=row.detail,
        outcome=row.outcome,
        reason=row.reason,
        by=row.by,
        at=row.at,
    )


def task_lists(conn: Connection, where: Any) -> dict[int, list[TaskModel]]:
    """The tasks of the incidents ``where`` selects (it may use ``incident_tasks``), by
    incident id, oldest first."""
    rows = conn.execute(sa.select(incident_tasks).where(where).order_by(incident_tasks.c.id)).all()
    out: dict[int, list[TaskModel]] = {}
    for r in rows:
        out.setdefault(r.incident_id, []).append(task_out(r))
    return out


#: One incident's tasks, oldest first (built once: every command that changes an incident reads
#: them).
_TASKS_OF = (
    sa.select(incident_tasks)
    .where(incident_tasks.c.incident_id == sa.bindparam("incident_id"))
    .order_by(incident_tasks.c.id)
)


#: The keys of one incident's tasks (built once: every create reads them).
_TASK_KEYS = sa.select(incident_tasks.c.key).where(
    incident_tasks.c.incident_id == sa.bindparam("incident_id")
)


#: New tasks of an incident, several rows in one statement; the id of each by its key.
_INSERT_TASKS = incident_tasks.insert().returning(incident_tasks.c.id, incident_tasks.c.key)


def tasks_of(conn: Connection, incident_id: int) -> list[TaskModel]:
    return [task_out(r) for r in conn.execute(_TASKS_OF, {"incident_id": incident_id})]


def informants(
    caller: dict[str, Any] | None, persons: Sequence[dict[str, Any]] | None
) -> list[Informant]:
    """Who gave the police information: the caller (unless the caller is the victim; an
    anonymous caller included) when anything of the caller is recorded, and each person named
    with the role INFORMANT."""
    out: list[Informant] = []
    c = caller or {}
    if c.get("role") != VICTIM and (c.get("name") or c.get("phone") or c.get("anonymous")):
        out.append(
            Informant("caller", c.get("name"), c.get("phone"), anonymous=bool(c.get("anonymous")))
        )
    for p in persons or []:
        if p.get("role") == INFORMANT:
            key = f"person:{' '.join(str(p.get('name', '')).split()).casefold()}|{p.get('dob')}"
            out.append(Informant(key, p.get("name"), p.get("phone")))
    return out


def ensure_tasks(
    conn: Connection,
    now: datetime,
    row: Row[Any],
    policy: TaskPolicy,
    incident_type: str | None = None,
    *,
    known: Iterable[str] | None = None,
) -> list[Task]:
    """Add the tasks ``policy`` requires of the incident ``row`` (of ``incident_type``, when
    it is being changed to that) that it lacks (by key); none is ever removed or reopened, so
    a type changed away from domestic keeps its tasks. Returns the tasks added. ``known``: the
    keys of the tasks it has, when the caller knows them (none for an incident this
    transaction has just inserted); else they are read."""
    have = set(
        conn.execute(_TASK_KEYS, {"incident_id": row.id}).scalars() if known is None else known
    )
    needed = []
    kind = incident_type if incident_type is not None else row.type
    for need in policy.required(kind, informants(row.caller, row.persons)):
        if need.key in have:
            continue
        have.add(need.key)
        needed.append(need)
    if not needed:
        return []
    # one statement for all of them (each new id told by its key: unique on the incident)
    new_ids = conn.execute(
        _INSERT_TASKS,
        [
            {
                "incident_id": row.id,
                "key": need.key,
                "kind": need.kind.value,
                "state": TaskState.OPEN.value,
                "detail": need.detail,
                "created_at": now,
            }
            for need in needed
        ],
    )
    id_of = {r.key: int(r.id) for r in new_ids}
    return [Task(id_of[need.key], need.kind, TaskState.OPEN, need.detail) for need in needed]


def open_task_list(conn: Connection, incident_id: int) -> list[Task]:
    """The incident's OPEN tasks, oldest first."""
    return [t.to_task() for t in tasks_of(conn, incident_id) if t.state is TaskState.OPEN]


def settle_open_tasks(
    conn: Connection, now: datetime, incident_id: int, by: str, reason: str
) -> None:
    """Record every OPEN task of the incident NOT_DONE with ``reason`` (a supervisor's close
    with tasks open: the rationale says why they were not done)."""
    conn.execute(
        incident_tasks.update()
        .where(
            incident_tasks.c.incident_id == incident_id,
            incident_tasks.c.state == TaskState.OPEN.value,
        )
        .values(state=TaskState.NOT_DONE.value, reason=reason[:2000], by=by, at=now)
    )
