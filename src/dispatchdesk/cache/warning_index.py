"""In-memory index of special schemes and protective orders for offline warning lookup.

INTERFACE DRAFT — being implemented; signatures are the contract other modules code against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.warnings import DEFAULT_WARNING_POLICY, Person, Place, WarningPolicy
from dispatchdesk.protocol.warnings import OrderOut, SchemeOut, WarningOut


class WarningIndex:
    """Schemes and orders held in memory, indexed for lookups well under 0.1 ms."""

    def __init__(self, policy: WarningPolicy = DEFAULT_WARNING_POLICY) -> None:
        self.policy = policy

    def replace(self, schemes: Iterable[SchemeOut], orders: Iterable[OrderOut],
                policy: WarningPolicy | None = None) -> None:
        """Replace everything (after a snapshot, or at start from the cache)."""
        raise NotImplementedError

    def upsert_scheme(self, scheme: SchemeOut) -> None:
        raise NotImplementedError

    def remove_scheme(self, scheme_id: int) -> None:
        raise NotImplementedError

    def upsert_order(self, order: OrderOut) -> None:
        raise NotImplementedError

    def remove_order(self, order_id: int) -> None:
        raise NotImplementedError

    def lookup(self, place: Place | None, people: Sequence[Person], now: datetime) -> (
        list[WarningOut]
    ):
        """Every warning for a place and/or persons, most severe first (as ``find_warnings``);
        schemes expired by ``now`` (server time) are never returned."""
        raise NotImplementedError

    def for_incident(self, incident: Incident, now: datetime) -> list[WarningOut]:
        """``lookup`` for the incident's location and the persons named on it."""
        raise NotImplementedError

    def schemes(self, now: datetime) -> list[SchemeOut]:
        """Every live scheme (for the supervisors' schemes view)."""
        raise NotImplementedError

    def expired_scheme_ids(self, now: datetime) -> list[int]:
        """Schemes held whose expiry is at or before ``now`` (to purge)."""
        raise NotImplementedError

    def next_scheme_expiry(self) -> datetime | None:
        """The earliest ``expires_at`` of the schemes held (when to purge next)."""
        raise NotImplementedError
