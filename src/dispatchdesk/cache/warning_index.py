"""In-memory index of special schemes and protective orders for offline warning lookup.

The client matches warnings from its local cache with the server's rules: a lookup returns
exactly what :func:`dispatchdesk.protocol.warnings.find_warnings` returns for the same schemes,
orders, place, persons and server time, without scanning everything.

How: each scheme's and order's locations and persons are filed under the keys a match needs
(UPRN, parent UPRN, USRN + house, house + postcode, house + street, normalised name, date of
birth + name). A lookup gathers the few entities filed under the query's keys; every entity
gathered really matches, and the warning itself (kind of match, severity, text) is built by the
protocol's ``scheme_warning`` / ``order_warning``, so the rules live in one place.

The fuzzy street path (a *possible match* on a misspelt street) cannot be keyed exactly, so
the distinct streets are scanned once per query street with difflib's own upper bounds
(length, then character multiset) before the real ratio, and the answer is remembered.
"""

from __future__ import annotations

import difflib
from bisect import bisect_right, insort
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    AddressParts,
    MatchKind,
    Person,
    Place,
    WarningPolicy,
    address_parts,
    normalise_name,
    normalise_postcode,
    scheme_live,
)
from dispatchdesk.protocol.warnings import (
    OrderOut,
    PlaceModel,
    SchemeOut,
    WarningOut,
    order_warning,
    scheme_warning,
    sort_warnings,
)

#: Remembered fuzzy-street answers before the memo is dropped (it refills from use).
_MEMO_LIMIT = 20_000

Ids = tuple[int, ...]
#: A place index key: a UPRN, or a pair such as (USRN, house).
Key = str | tuple[str, str]
K = TypeVar("K")


def _add(table: dict[K, Ids], key: K, entity_id: int) -> bool:
    """File ``entity_id`` under ``key``; True when the key is new. Tuples, not sets: most
    keys hold one entity, and a one-item tuple is a quarter of the size of a set."""
    ids = table.get(key)
    if ids is None:
        table[key] = (entity_id,)
        return True
    if entity_id not in ids:
        table[key] = (*ids, entity_id)
    return False


def _discard(table: dict[K, Ids], key: K, entity_id: int) -> bool:
    """Unfile ``entity_id``; True when the key is now gone."""
    ids = table.get(key)
    if ids is None:
        return False
    rest = tuple(i for i in ids if i != entity_id)
    if rest:
        table[key] = rest
        return False
    del table[key]
    return True


def _could_reach(len_a: int, len_b: int, threshold: float) -> bool:
    """difflib's ``real_quick_ratio`` (computed the same way): an upper bound on ``ratio``."""
    total = len_a + len_b
    return (2.0 * min(len_a, len_b) / total if total else 1.0) >= threshold


def _similar(matcher: difflib.SequenceMatcher[str], known: str, threshold: float) -> bool:
    """``SequenceMatcher(None, known, query).ratio() >= threshold`` as the domain computes it
    (``matcher`` already holds the query as seq2, which difflib caches for reuse)."""
    matcher.set_seq1(known)
    return matcher.quick_ratio() >= threshold and matcher.ratio() >= threshold


@dataclass(frozen=True, slots=True)
class _Query:
    """A place to look up, split once."""

    uprn: str | None
    parent_uprn: str | None
    usrn: str | None
    parts: AddressParts | None
    postcode: str | None

    @classmethod
    def of(cls, place: Place) -> _Query:
        return cls(
            uprn=place.uprn or None, parent_uprn=place.parent_uprn or None,
            usrn=place.usrn or None,
            parts=address_parts(place.address) if place.address else None,
            postcode=normalise_postcode(place.postcode),
        )


# Tables of the place index, by what a key is made of.
_UPRN, _PARENT, _STREET_HOUSE, _HOUSE_POSTCODE, _HOUSE_STREET = range(5)


class _PlaceIndex:
    """Entity ids by the location keys of ``match_place``: every entity that can match a
    place is filed under a key the place also yields."""

    def __init__(self) -> None:
        self._tables: tuple[dict[Key, Ids], ...] = tuple({} for _ in range(5))
        #: Distinct streets (of house + street keys) by length, with how many keys use each.
        self._streets: dict[int, dict[str, int]] = {}
        #: Query street → the known streets at or above ``_memo_threshold`` (difflib ratio).
        self._memo: dict[str, tuple[str, ...]] = {}
        self._memo_threshold = -1.0

    def add(self, entity_id: int, places: Iterable[PlaceModel]) -> None:
        for table, key in _place_keys(places):
            if _add(self._tables[table], key, entity_id) and table == _HOUSE_STREET:
                self._count_street(key[1], +1)

    def remove(self, entity_id: int, places: Iterable[PlaceModel]) -> None:
        for table, key in _place_keys(places):
            if _discard(self._tables[table], key, entity_id) and table == _HOUSE_STREET:
                self._count_street(key[1], -1)

    def _count_street(self, street: str, delta: int) -> None:
        bucket = self._streets.setdefault(len(street), {})
        count = bucket.get(street, 0) + delta
        if count > 0:
            if count == 1 and delta > 0:
                self._memo.clear()  # a new street may be similar to a remembered query
            bucket[street] = count
        else:
            # A street that went away may stay in the memo: its keys are gone, so it
            # gathers nothing.
            bucket.pop(street, None)
            if not bucket:
                del self._streets[len(street)]

    def candidates(self, q: _Query, threshold: float) -> set[int]:
        found: set[int] = set()
        for table, key in self._query_keys(q, threshold):
            found.update(self._tables[table].get(key, ()))
        return found

    def _query_keys(self, q: _Query, threshold: float) -> Iterator[tuple[int, Key]]:
        for uprn in (q.uprn, q.parent_uprn):
            if uprn:
                # The marker's UPRN is the place's (UPRN) or its block's (PARENT_UPRN); the
                # marker's block is the place (CHILD_UPRN) or the place's block (SAME_BLOCK).
                yield _UPRN, uprn
                yield _PARENT, uprn
        house = q.parts.house if q.parts else None
        if q.parts is None or house is None:
            return  # every address rule needs the house on both sides
        if q.usrn:
            yield _STREET_HOUSE, (q.usrn, house)
        if q.postcode:
            yield _HOUSE_POSTCODE, (house, q.postcode)
        if q.parts.street:
            for street in self.similar_streets(q.parts.street, threshold):
                yield _HOUSE_STREET, (house, street)

    def similar_streets(self, street: str, threshold: float) -> tuple[str, ...]:
        """Every known street whose difflib ratio against ``street`` reaches ``threshold``."""
        if threshold != self._memo_threshold:
            self._memo.clear()
            self._memo_threshold = threshold
        found = self._memo.get(street)
        if found is None:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            found = self._memo[street] = tuple(self._scan_streets(street, threshold))
        return found

    def _scan_streets(self, street: str, threshold: float) -> Iterator[str]:
        matcher = difflib.SequenceMatcher(None, "", street)
        for length, bucket in self._streets.items():
            if _could_reach(length, len(street), threshold):
                yield from (s for s in bucket if _similar(matcher, s, threshold))


def _place_keys(places: Iterable[PlaceModel]) -> set[tuple[int, Key]]:
    """The keys a marked location is filed under (one set, so an entity with two locations
    sharing a key is filed once)."""
    keys: set[tuple[int, Key]] = set()
    for p in places:
        if p.uprn:
            keys.add((_UPRN, p.uprn))
        if p.parent_uprn:
            keys.add((_PARENT, p.parent_uprn))
        parts = address_parts(p.address) if p.address else None
        if parts is None or parts.house is None:
            continue
        if p.usrn:
            keys.add((_STREET_HOUSE, (p.usrn, parts.house)))
        postcode = normalise_postcode(p.postcode)
        if postcode:
            keys.add((_HOUSE_POSTCODE, (parts.house, postcode)))
        if parts.street:
            keys.add((_HOUSE_STREET, (parts.house, parts.street)))
    return keys


class _PersonIndex:
    """Order ids by the persons named on them, for ``match_person``."""

    def __init__(self) -> None:
        self._by_name: dict[str, Ids] = {}
        self._by_dob_name: dict[tuple[date | None, str], Ids] = {}
        #: Names known with each date of birth: the near-identical-name path scans these.
        self._names_by_dob: dict[date, dict[str, None]] = {}

    def add(self, entity_id: int, persons: Iterable[Person]) -> None:
        for name, dob in _person_keys(persons):
            _add(self._by_name, name, entity_id)
            if _add(self._by_dob_name, (dob, name), entity_id) and dob is not None:
                self._names_by_dob.setdefault(dob, {})[name] = None

    def remove(self, entity_id: int, persons: Iterable[Person]) -> None:
        for name, dob in _person_keys(persons):
            _discard(self._by_name, name, entity_id)
            if _discard(self._by_dob_name, (dob, name), entity_id) and dob is not None:
                names = self._names_by_dob[dob]
                del names[name]
                if not names:
                    del self._names_by_dob[dob]

    def candidates(self, who: Person, threshold: float) -> set[int]:
        name = normalise_name(who.name)
        if not name:
            return set()
        if who.dob is None:
            # Without a date of birth the same name is a possible match, whatever the DOB.
            return set(self._by_name.get(name, ()))
        # Same DOB or none known; a different DOB never matches.
        found = set(self._by_dob_name.get((who.dob, name), ()))
        found.update(self._by_dob_name.get((None, name), ()))
        matcher = difflib.SequenceMatcher(None, "", name)
        for known in self._names_by_dob.get(who.dob, ()):
            if known != name and _could_reach(len(known), len(name), threshold) and _similar(
                matcher, known, threshold
            ):
                found.update(self._by_dob_name[(who.dob, known)])
        return found


def _person_keys(persons: Iterable[Person]) -> set[tuple[str, date | None]]:
    return {(n, p.dob) for p in persons if (n := normalise_name(p.name))}


def _order_persons(order: OrderOut) -> list[Person]:
    return [Person(p.name, p.dob) for p in (order.subject, *order.protected_persons)]


def _strength(w: WarningOut) -> tuple[bool, int]:
    """How strong a match is, smaller first: the order ``find_warnings`` picks a best by."""
    kind = MatchKind(w.match)
    return kind.possible, kind.rank


class WarningIndex:
    """Schemes and orders held in memory, indexed for lookups well under 0.1 ms.

    Not thread-safe: one thread updates and queries it.
    """

    def __init__(self, policy: WarningPolicy = DEFAULT_WARNING_POLICY) -> None:
        self.policy = policy
        self._clear()

    def _clear(self) -> None:
        self._schemes: dict[int, SchemeOut] = {}
        self._orders: dict[int, OrderOut] = {}
        self._scheme_places = _PlaceIndex()
        self._order_places = _PlaceIndex()
        self._order_persons = _PersonIndex()
        #: (expires_at, id) of every scheme held, sorted: expiry questions are a bisect.
        self._expiry: list[tuple[datetime, int]] = []

    def __len__(self) -> int:
        """Schemes and orders held (expired schemes included until removed)."""
        return len(self._schemes) + len(self._orders)

    # --- updates -------------------------------------------------------------------------

    def replace(self, schemes: Iterable[SchemeOut], orders: Iterable[OrderOut],
                policy: WarningPolicy | None = None) -> None:
        """Replace everything (after a snapshot, or at start from the cache)."""
        self.policy = policy or self.policy
        self._clear()
        for s in schemes:
            self._add_scheme(s)
        for o in orders:
            self._add_order(o)
        self._expiry = sorted((s.expires_at, sid) for sid, s in self._schemes.items())

    def upsert_scheme(self, scheme: SchemeOut) -> None:
        """Add a scheme, or replace the one with its id (its old location keys go)."""
        self.remove_scheme(scheme.id)
        self._add_scheme(scheme)
        insort(self._expiry, (scheme.expires_at, scheme.id))

    def remove_scheme(self, scheme_id: int) -> None:
        """Forget a scheme (ended, expired, or deleted); an unknown id is ignored."""
        old = self._schemes.pop(scheme_id, None)
        if old is None:
            return
        self._scheme_places.remove(scheme_id, [old.location])
        entry = (old.expires_at, scheme_id)
        self._expiry.pop(bisect_right(self._expiry, entry) - 1)

    def upsert_order(self, order: OrderOut) -> None:
        """Add an order, or replace the one with its id (its old keys go)."""
        self.remove_order(order.id)
        self._add_order(order)

    def remove_order(self, order_id: int) -> None:
        """Forget an order; an unknown id is ignored."""
        old = self._orders.pop(order_id, None)
        if old is None:
            return
        self._order_places.remove(order_id, old.locations)
        self._order_persons.remove(order_id, _order_persons(old))

    def _add_scheme(self, scheme: SchemeOut) -> None:
        """File a scheme under its location; the caller files its expiry (one sort for a
        bulk load)."""
        self._schemes[scheme.id] = scheme
        self._scheme_places.add(scheme.id, [scheme.location])

    def _add_order(self, order: OrderOut) -> None:
        self._orders[order.id] = order
        self._order_places.add(order.id, order.locations)
        self._order_persons.add(order.id, _order_persons(order))

    # --- lookups -------------------------------------------------------------------------

    def lookup(self, place: Place | None, people: Sequence[Person], now: datetime) -> (
        list[WarningOut]
    ):
        """Every warning for a place and/or persons, most severe first (as ``find_warnings``);
        schemes expired by ``now`` (server time) are never returned.

        With several persons: each warning once, with its strongest match (the first person's
        on a tie), as if ``find_warnings`` had run for each person and the results merged.
        """
        found: dict[tuple[str, int], WarningOut] = {}
        if place is not None:
            self._place_warnings(_Query.of(place), place, now, found)
        for who in people:
            self._person_warnings(who, now, found)
        return sort_warnings(list(found.values()))

    def _place_warnings(self, q: _Query, place: Place, now: datetime,
                        found: dict[tuple[str, int], WarningOut]) -> None:
        threshold = self.policy.address_similarity
        for sid in self._scheme_places.candidates(q, threshold):
            s = self._schemes[sid]
            if scheme_live(s.expires_at, now):
                w = scheme_warning(s, place, now, self.policy)
                if w is not None:  # every candidate matches; kept safe all the same
                    found["scheme", sid] = w
        for oid in self._order_places.candidates(q, threshold):
            w = order_warning(self._orders[oid], place, None, now, self.policy)
            if w is not None:
                found["order", oid] = w

    def _person_warnings(self, who: Person, now: datetime,
                         found: dict[tuple[str, int], WarningOut]) -> None:
        # The order's location match (if any) is already in ``found``; a person's match
        # replaces it only when strictly stronger, as ``find_warnings`` keeps the first best.
        for oid in self._order_persons.candidates(who, self.policy.address_similarity):
            w = order_warning(self._orders[oid], None, who, now, self.policy)
            if w is None:
                continue
            held = found.get(("order", oid))
            if held is None or _strength(w) < _strength(held):
                found["order", oid] = w

    def for_incident(self, incident: Incident, now: datetime) -> list[WarningOut]:
        """``lookup`` for the incident's location and the persons named on it."""
        loc = incident.location
        place = Place(uprn=loc.uprn, parent_uprn=loc.parent_uprn, usrn=loc.usrn,
                      address=loc.address, postcode=loc.postcode)
        people = list(incident.persons)
        if incident.caller.name:
            people.append(Person(incident.caller.name))
        return self.lookup(place, people, now)

    def schemes(self, now: datetime) -> list[SchemeOut]:
        """Every live scheme (for the supervisors' schemes view), soonest expiry first."""
        start = self._first_live(now)
        return [self._schemes[sid] for _, sid in self._expiry[start:]]

    def orders(self) -> list[OrderOut]:
        """Every order held, by id."""
        return [self._orders[oid] for oid in sorted(self._orders)]

    def expired_scheme_ids(self, now: datetime) -> list[int]:
        """Schemes held whose expiry is at or before ``now`` (to purge)."""
        return [sid for _, sid in self._expiry[:self._first_live(now)]]

    def next_scheme_expiry(self) -> datetime | None:
        """The earliest ``expires_at`` of the schemes held (when to purge next)."""
        return self._expiry[0][0] if self._expiry else None

    def _first_live(self, now: datetime) -> int:
        """Index in ``_expiry`` of the first scheme still live at ``now`` (``scheme_live``)."""
        return bisect_right(self._expiry, now, key=lambda e: e[0])
