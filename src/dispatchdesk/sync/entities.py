"""The synced entities as the sync engine decodes and keeps them.

:func:`decode_entity` validates one change against its entity's wire model (read from the
descriptors in :mod:`dispatchdesk.cache.entities`); :class:`EntityBatch` collects a batch of
them, last one per entity winning, for one cache transaction. Incidents stay with the feed;
the others live in :class:`EntityState`: units by id (the units board), schemes and orders in a
:class:`~dispatchdesk.cache.warning_index.WarningIndex` (warnings offline, in microseconds),
and the operator's warning acknowledgements.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from dispatchdesk.cache.entities import (
    ENTITIES,
    NOTICE,
    ORDER,
    SCHEME,
    SIDE_ENTITIES,
    UNIT,
    EntityChanges,
    SyncedEntity,
    W,
)
from dispatchdesk.cache.packed import Packed
from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.unit import Unit
from dispatchdesk.domain.warnings import DEFAULT_WARNING_POLICY, WarningPolicy, WarningRef
from dispatchdesk.protocol.convert import unit_from_wire
from dispatchdesk.protocol.notices import NoticeOut
from dispatchdesk.protocol.schemas import Change, UnitOut
from dispatchdesk.protocol.warnings import OrderOut, SchemeOut
from dispatchdesk.sync.errors import MalformedPayload, describe_validation_error


def decode_entity(change: Change) -> BaseModel | int:
    """The entity of an upsert (validated), or the id of a delete; else MalformedPayload."""
    entity = ENTITIES[change.entity]
    if change.op == "upsert":
        try:
            decoded: BaseModel = entity.wire.model_validate(change.data)
        except ValidationError as exc:
            raise MalformedPayload(
                describe_validation_error(f"{change.entity} in change {change.seq}", exc)
            ) from exc
        return decoded
    value = change.data.get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedPayload(
            f"The server sent a delete (change {change.seq}) without {entity.article} "
            f"{change.entity} id."
        )
    return value


class EntityBatch:
    """The changes of one batch, per entity the last one per id winning (None: deleted)."""

    def __init__(self) -> None:
        self._latest: dict[str, dict[int, BaseModel | None]] = {e: {} for e in ENTITIES}

    def add(self, decoded: BaseModel | int, entity: str) -> None:
        """An upserted entity, or the id of a deleted ``entity``."""
        latest = self._latest[entity]
        if isinstance(decoded, int):
            latest.pop(decoded, None)
            latest[decoded] = None
        else:
            key = int(getattr(decoded, "id"))  # noqa: B009
            if latest.get(key) is None:
                latest.pop(key, None)  # new, or back after a delete: after the others
            latest[key] = decoded

    def upserts(self, entity: SyncedEntity[W, Any]) -> list[W]:
        return [cast(W, m) for m in self._latest[entity.name].values() if m is not None]

    def removed(self, entity: SyncedEntity[Any, Any]) -> list[int]:
        return [k for k, m in self._latest[entity.name].items() if m is None]

    def changes(self) -> EntityChanges:
        """The entities other than incidents, for the cache and :class:`EntityState`."""
        return EntityChanges.of(
            [(e, self.upserts(e)) for e in SIDE_ENTITIES],
            [(e, self.removed(e)) for e in SIDE_ENTITIES],
        )


def build_index(
    schemes: Sequence[SchemeOut | Packed],
    orders: Sequence[OrderOut | Packed],
    policy: WarningPolicy | None = None,
) -> WarningIndex:
    """A fresh index of ``schemes`` and ``orders`` (run it on the cache's thread); they may
    come packed (``cache.packed``), as the cache loads them, and are held packed."""
    index = WarningIndex(policy or DEFAULT_WARNING_POLICY)
    index.replace(schemes, orders)
    if len(index) >= _FREEZE_AT:
        # Hundreds of thousands of long-lived objects: keep them out of the collector's full
        # passes. (No collection first: it would hold the GIL, and the screen, for a while.)
        gc.freeze()
    return index


#: Index size from which its objects are frozen out of the garbage collector.
_FREEZE_AT = 50_000


class EntityState:
    """Units, the warning index and acknowledgements, as last shown to the listener."""

    def __init__(self) -> None:
        self.units: dict[int, Unit] = {}
        #: Incident, unit and scheme versions as the feed has them (the cache's word; they
        #: confirm SENT commands).
        self.versions: dict[str, dict[int, int]] = {
            name: {} for name, e in ENTITIES.items() if e.versioned
        }
        self.index = WarningIndex()
        self.acknowledged: set[tuple[int, WarningRef]] = set()
        #: Live notices by id, and when this operator read each one they have read.
        self.notices: dict[int, NoticeOut] = {}
        self.notice_reads: dict[int, datetime] = {}

    def reset_units(self, wires: Iterable[UnitOut]) -> list[Unit]:
        self.units = {w.id: unit_from_wire(w) for w in wires}
        self.versions[UNIT.name] = {u.id: u.version for u in self.units.values()}
        return list(self.units.values())

    def reset_index(self, index: WarningIndex) -> None:
        self.index = index
        self.versions[SCHEME.name] = index.scheme_versions()

    def apply(self, changes: EntityChanges) -> tuple[list[Unit], list[int], bool]:
        """Apply a committed batch; returns (units changed, units removed, warnings changed)."""
        shown: list[Unit] = []
        unit_versions = self.versions[UNIT.name]
        for w in changes.upserts(UNIT):
            unit_versions[w.id] = w.version
            unit = unit_from_wire(w)
            if w.version >= self.units.get(w.id, unit).version:
                self.units[w.id] = unit
                shown.append(unit)
        for unit_id in changes.removed_ids(UNIT):
            self.units.pop(unit_id, None)
            unit_versions.pop(unit_id, None)
        for s in changes.upserts(SCHEME):
            self.versions[SCHEME.name][s.id] = s.version
            self.index.upsert_scheme(s)
        for scheme_id in changes.removed_ids(SCHEME):
            self.versions[SCHEME.name].pop(scheme_id, None)
            self.index.remove_scheme(scheme_id)
        for o in changes.upserts(ORDER):
            self.index.upsert_order(o)
        for order_id in changes.removed_ids(ORDER):
            self.index.remove_order(order_id)
        warnings = changes.touches(SCHEME) or changes.touches(ORDER)
        return shown, list(changes.removed_ids(UNIT)), warnings

    def reset_notices(self, notices: Iterable[NoticeOut]) -> None:
        self.notices = {n.id: n for n in notices}
        self.versions[NOTICE.name] = {n.id: n.version for n in self.notices.values()}

    def apply_notices(self, changes: EntityChanges) -> bool:
        """Apply a batch's notices; whether any changed."""
        for n in changes.upserts(NOTICE):
            self.versions[NOTICE.name][n.id] = n.version
            self.notices[n.id] = n
        for notice_id in changes.removed_ids(NOTICE):
            self.notices.pop(notice_id, None)
            self.versions[NOTICE.name].pop(notice_id, None)
        return changes.touches(NOTICE)

    def show_unit(self, wire: UnitOut) -> Unit | None:
        """A command's reply: show the unit at once if it is newer than what is shown."""
        current = self.units.get(wire.id)
        if current is not None and current.version >= wire.version:
            return None
        unit = unit_from_wire(wire)
        self.units[wire.id] = unit
        return unit

    def expired(self, now: datetime) -> list[int]:
        """Drop schemes expired by ``now`` from the index; return their ids (to purge)."""
        nxt = self.index.next_scheme_expiry()
        if nxt is None or nxt > now:
            return []
        ids = self.index.expired_scheme_ids(now)
        for scheme_id in ids:
            self.index.remove_scheme(scheme_id)
            self.versions[SCHEME.name].pop(scheme_id, None)
        return ids
