"""Units, special schemes and protective orders as the sync engine keeps them.

The engine's feed brings four kinds of entity; incidents stay in the engine, the other three
live here: units by id (the units board), schemes and orders in a
:class:`~dispatchdesk.cache.warning_index.WarningIndex` (warnings offline, in microseconds),
and the operator's warning acknowledgements. :func:`decode_entity` validates one change;
:class:`EntityBatch` collects a batch of them for one cache transaction.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ValidationError

from dispatchdesk.cache.store import CachedState, EntityChanges
from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.unit import Unit
from dispatchdesk.domain.warnings import DEFAULT_WARNING_POLICY, WarningPolicy, WarningRef
from dispatchdesk.protocol.convert import unit_from_wire
from dispatchdesk.protocol.schemas import Change, IncidentOut, UnitOut
from dispatchdesk.protocol.warnings import OrderOut, SchemeOut
from dispatchdesk.sync.errors import MalformedPayload, describe_validation_error

_MODELS: dict[str, type[BaseModel]] = {
    "incident": IncidentOut, "unit": UnitOut, "scheme": SchemeOut, "order": OrderOut,
}


def decode_entity(change: Change) -> BaseModel | int:
    """The entity of an upsert (validated), or the id of a delete; else MalformedPayload."""
    if change.op == "upsert":
        try:
            return _MODELS[change.entity].model_validate(change.data)
        except ValidationError as exc:
            raise MalformedPayload(
                describe_validation_error(f"{change.entity} in change {change.seq}", exc)
            ) from exc
    value = change.data.get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        article = "an" if change.entity == "incident" else "a"
        raise MalformedPayload(
            f"The server sent a delete (change {change.seq}) without {article} "
            f"{change.entity} id."
        )
    return value


@dataclass
class EntityBatch:
    """Non-incident changes of one batch, last one per entity winning."""

    units: dict[int, UnitOut | None] = field(default_factory=dict)
    schemes: dict[int, SchemeOut | None] = field(default_factory=dict)
    orders: dict[int, OrderOut | None] = field(default_factory=dict)

    def add(self, decoded: BaseModel | int, entity: str) -> None:
        """An upserted entity, or the id of a deleted ``entity``."""
        if isinstance(decoded, UnitOut):
            self.units[decoded.id] = decoded
        elif isinstance(decoded, SchemeOut):
            self.schemes[decoded.id] = decoded
        elif isinstance(decoded, OrderOut):
            self.orders[decoded.id] = decoded
        elif isinstance(decoded, int):
            gone: dict[str, dict[int, UnitOut | None] | dict[int, SchemeOut | None]
                       | dict[int, OrderOut | None]] = {
                "unit": self.units, "scheme": self.schemes, "order": self.orders}
            gone[entity][decoded] = None

    def changes(self) -> EntityChanges:
        return EntityChanges(
            units=[u for u in self.units.values() if u is not None],
            removed_units=[k for k, u in self.units.items() if u is None],
            schemes=[s for s in self.schemes.values() if s is not None],
            removed_schemes=[k for k, s in self.schemes.items() if s is None],
            orders=[o for o in self.orders.values() if o is not None],
            removed_orders=[k for k, o in self.orders.items() if o is None],
        )


def build_index(state: CachedState, policy: WarningPolicy | None = None) -> WarningIndex:
    """A fresh index of the schemes and orders in ``state`` (run it on the cache's thread)."""
    index = WarningIndex(policy or state.warning_policy or DEFAULT_WARNING_POLICY)
    index.replace(state.schemes, state.orders)
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
        self.versions: dict[str, dict[int, int]] = {"incident": {}, "unit": {}, "scheme": {}}
        self.index = WarningIndex()
        self.acknowledged: set[tuple[int, WarningRef]] = set()

    def reset_units(self, wires: Iterable[UnitOut]) -> list[Unit]:
        self.units = {w.id: unit_from_wire(w) for w in wires}
        self.versions["unit"] = {u.id: u.version for u in self.units.values()}
        return list(self.units.values())

    def reset_index(self, index: WarningIndex, schemes: Iterable[SchemeOut]) -> None:
        self.index = index
        self.versions["scheme"] = {s.id: s.version for s in schemes}

    def apply(self, changes: EntityChanges) -> tuple[list[Unit], list[int], bool]:
        """Apply a committed batch; returns (units changed, units removed, warnings changed)."""
        shown: list[Unit] = []
        for w in changes.units:
            self.versions["unit"][w.id] = w.version
            unit = unit_from_wire(w)
            if w.version >= self.units.get(w.id, unit).version:
                self.units[w.id] = unit
                shown.append(unit)
        for unit_id in changes.removed_units:
            self.units.pop(unit_id, None)
            self.versions["unit"].pop(unit_id, None)
        for s in changes.schemes:
            self.versions["scheme"][s.id] = s.version
            self.index.upsert_scheme(s)
        for scheme_id in changes.removed_schemes:
            self.versions["scheme"].pop(scheme_id, None)
            self.index.remove_scheme(scheme_id)
        for o in changes.orders:
            self.index.upsert_order(o)
        for order_id in changes.removed_orders:
            self.index.remove_order(order_id)
        warnings = bool(changes.schemes or changes.removed_schemes or changes.orders
                        or changes.removed_orders)
        return shown, list(changes.removed_units), warnings

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
            self.versions["scheme"].pop(scheme_id, None)
        return ids
