"""The synced entities, one descriptor each: incident, unit, scheme, order, notice.

A :class:`SyncedEntity` says what the change feed calls the entity, its wire model, its cache
table and row, how a wire object becomes a domain object, and whether its versions confirm a
command. The change decoder (``sync/entities.py``), the cache's tables and writes
(``cache/store.py``), the engine's versions and the outbox routes (``sync/routes.py``) all read
:data:`ENTITIES`; none spells the entities out by hand.

Adding a synced entity: a descriptor here (and its name in ``Change.entity``, which a test
checks against :data:`ENTITIES`), plus its feature modules: the server's service and router,
a command builder in ``sync/commands/``, its routes, and its GUI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

from dispatchdesk.domain.incident import Incident, IncidentStatus
from dispatchdesk.domain.unit import Unit
from dispatchdesk.protocol.convert import incident_from_wire, incident_to_wire, unit_from_wire
from dispatchdesk.protocol.notices import NoticeOut
from dispatchdesk.protocol.schemas import IncidentOut, UnitOut
from dispatchdesk.protocol.warnings import OrderOut, SchemeOut

W = TypeVar("W", bound=BaseModel)
D = TypeVar("D")

metadata = MetaData()


def _json_table(name: str, *columns: Column[Any]) -> Table:
    """A table of wire JSON by id, with any columns to filter or purge on."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        *columns,
        Column("data", Text, nullable=False),
    )


@dataclass(frozen=True, eq=False)
class SyncedEntity(Generic[W, D]):
    """One kind of entity the change feed carries (``W``: wire model, ``D``: domain type)."""

    #: As ``Change.entity`` and ``OutboxEntry.result_entity`` spell it.
    name: str
    #: Its field in the snapshot, and its cache table's name.
    plural: str
    wire: type[W]
    table: Table
    #: The cache row of a wire object (``id``, ``data`` and the table's other columns).
    row: Callable[[W], dict[str, Any]]
    #: The domain object the screen gets (schemes and orders are used as wire objects).
    to_domain: Callable[[W], D]
    #: The feed's versions confirm a SENT command whose reply is this entity.
    versioned: bool = True
    #: Deleted or changed rows are scrubbed from the files at once (their text must not stay).
    scrub: bool = False
    #: "a" or "an", for messages ("without an incident id").
    article: str = "a"

    @cached_property
    def _many(self) -> TypeAdapter[list[W]]:
        return TypeAdapter(list[self.wire])  # type: ignore[name-defined]

    def from_rows(self, data: Sequence[str]) -> list[W]:
        """Wire objects from rows' JSON, validated in one call (pydantic-core parses the whole
        array, several times faster than row by row: 100,000 schemes load in under a second)."""
        return self._many.validate_json("[" + ",".join(data) + "]") if data else []


def _closed_ts(inc: IncidentOut) -> float | None:
    if inc.status is not IncidentStatus.CLOSED:
        return None
    when = inc.closed_at or inc.updated_at or inc.created_at
    return when.timestamp()


def incident_row(inc: Incident | IncidentOut) -> dict[str, Any]:
    """The ``incidents`` row of an incident (domain or wire)."""
    w = inc if isinstance(inc, IncidentOut) else incident_to_wire(inc)
    return {
        "id": w.id,
        "version": w.version,
        "status": w.status.value,
        "closed_ts": _closed_ts(w),
        "data": w.model_dump_json(),
    }


def _plain_row(m: UnitOut | OrderOut) -> dict[str, Any]:
    return {"id": m.id, "data": m.model_dump_json()}


def _scheme_row(m: SchemeOut) -> dict[str, Any]:
    return {"id": m.id, "expires_ts": m.expires_at.timestamp(), "data": m.model_dump_json()}


def _notice_row(m: NoticeOut) -> dict[str, Any]:
    return {"id": m.id, "expires_ts": m.expires_at.timestamp(), "data": m.model_dump_json()}


def _same(m: W) -> W:
    return m


#: One row per incident: its ``IncidentOut`` JSON plus a few columns to filter and purge on.
incidents_table = _json_table(
    "incidents",
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    #: Epoch seconds the incident closed (None while open): what the day's purge looks at.
    Column("closed_ts", Float, nullable=True),
)
Index("ix_incidents_closed_ts", incidents_table.c.closed_ts)
units_table = _json_table("units")
schemes_table = _json_table(
    "schemes",
    #: Epoch seconds of expiry: an expired scheme is deleted (and scrubbed) at once.
    Column("expires_ts", Float, nullable=False, index=True),
)
orders_table = _json_table("orders")
notices_table = _json_table(
    "notices",
    #: Epoch seconds of expiry: an expired notice is no longer shown, and purged.
    Column("expires_ts", Float, nullable=False, index=True),
)

INCIDENT: SyncedEntity[IncidentOut, Incident] = SyncedEntity(
    "incident",
    "incidents",
    IncidentOut,
    incidents_table,
    incident_row,
    incident_from_wire,
    article="an",
)
UNIT: SyncedEntity[UnitOut, Unit] = SyncedEntity(
    "unit", "units", UnitOut, units_table, _plain_row, unit_from_wire
)
SCHEME: SyncedEntity[SchemeOut, SchemeOut] = SyncedEntity(
    "scheme", "schemes", SchemeOut, schemes_table, _scheme_row, _same, scrub=True
)
ORDER: SyncedEntity[OrderOut, OrderOut] = SyncedEntity(
    "order", "orders", OrderOut, orders_table, _plain_row, _same, versioned=False
)
NOTICE: SyncedEntity[NoticeOut, NoticeOut] = SyncedEntity(
    "notice", "notices", NoticeOut, notices_table, _notice_row, _same
)

#: Every synced entity by name.
ENTITIES: dict[str, SyncedEntity[Any, Any]] = {
    e.name: e for e in (INCIDENT, UNIT, SCHEME, ORDER, NOTICE)
}
#: Those other than incidents (which have their own fast path in the cache and the feed).
SIDE_ENTITIES: tuple[SyncedEntity[Any, Any], ...] = tuple(
    e for e in ENTITIES.values() if e is not INCIDENT
)


@dataclass(frozen=True)
class EntityChanges:
    """Entities other than incidents that a sync batch or a snapshot brought, by name
    (committed with the incidents, in one transaction)."""

    upserted: Mapping[str, Sequence[BaseModel]] = field(default_factory=dict)
    removed: Mapping[str, Sequence[int]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        upserted: Iterable[tuple[SyncedEntity[Any, Any], Sequence[BaseModel]]],
        removed: Iterable[tuple[SyncedEntity[Any, Any], Sequence[int]]] = (),
    ) -> EntityChanges:
        return cls(
            {e.name: list(v) for e, v in upserted if v}, {e.name: list(v) for e, v in removed if v}
        )

    def upserts(self, entity: SyncedEntity[W, Any]) -> Sequence[W]:
        return cast(Sequence[W], self.upserted.get(entity.name, ()))

    def removed_ids(self, entity: SyncedEntity[Any, Any]) -> Sequence[int]:
        return self.removed.get(entity.name, ())

    def touches(self, entity: SyncedEntity[Any, Any]) -> bool:
        return bool(self.upserts(entity) or self.removed_ids(entity))

    def __bool__(self) -> bool:
        return any(self.upserted.values()) or any(self.removed.values())
