"""In-memory index of special schemes and protective orders for offline warning lookup.

The client matches warnings from its local cache with the server's rules: a lookup returns
exactly what :func:`dispatchdesk.protocol.warnings.find_warnings` returns for the same schemes,
orders, place, persons and server time, without scanning everything.

How: each scheme's and order's locations and persons are filed under the keys a match needs
(UPRN, parent UPRN, USRN + house, house + postcode, house + street, normalised name, date of
birth + name). A lookup gathers the few entities filed under the query's keys; every entity
gathered really matches.

Locations are parsed once (``ParsedPlace``) when filed, and the query once per lookup; the
domain's ``match_parsed`` then decides the kind of match of each candidate, so the index holds
no copy of the rules. The warning itself is what the protocol's ``scheme_warning_of`` /
``order_warning_of`` build for the kind of match found, read from the packed scheme or order
without unpacking it (:mod:`dispatchdesk.cache.indexed_warning`: the scheme or order is
unpacked only when a warning's ``scheme`` / ``order`` is read). Persons are matched as the
protocol's ``persons_match`` (what ``order_warning`` uses) matches them, by the domain's
``match_names`` on normalised names: the name asked about is normalised once per lookup, and
an order's persons are read packed (``persons_match_packed``).

The fuzzy street path (a *possible match* on a misspelt street) cannot be keyed exactly, but
the free-text rule (``street_similar``) accepts a different street only one typo away: so
every known street is filed under its deletion neighbourhood (itself and each string one
letter shorter), and a query street finds the streets one typo away in about twenty
dictionary probes, whatever the number of streets and whether or not it was asked before;
the few found are checked with the domain's ``one_typo`` and difflib ratio. The free-text
rule also needs the same postcode district when both sides have a postcode, so a query with
one keeps its district's streets and those filed without a postcode. A street typed without
its type ("30 acre london") is looked up by name among the streets with one ("acre lane",
"acre road"), and a typed one ("acre lane") under its bare name ("acre").
"""

from __future__ import annotations

import difflib
import gc
from array import array
from bisect import bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime
from functools import cache, partial
from sys import intern
from typing import Any, TypeVar

from dispatchdesk.cache.indexed_warning import (
    Expiries,
    IndexedWarning,
    order_warning,
    scheme_warning,
)
from dispatchdesk.cache.packed import (
    Packed,
    encoded,
    fields,
    pack,
    position,
    unpack_as,
)
from dispatchdesk.domain.addresses import one_typo, street_ratio
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    MATCH_RANK,
    AddressParts,
    MatchKind,
    ParsedPlace,
    Person,
    Place,
    WarningPolicy,
    match_names,
    match_parsed,
    normalise_name,
    scheme_live,
    street_type,
)
from dispatchdesk.protocol.warnings import (
    OrderOut,
    PersonModel,
    PlaceModel,
    SchemeOut,
    sort_warnings,
)
from dispatchdesk.protocol.warnings import place as place_of

#: Remembered answers of the street neighbourhood before they are dropped (they refill).
_MEMO_LIMIT = 20_000
#: Remembered answers of the near-name scan (a few hundred KB when full).
_NEAR_LIMIT = 4_096
#: Scheme changes remembered (``changed_schemes_since``): a reader further behind reads
#: every scheme again.
_SCHEME_LOG_LIMIT = 8_192

#: The entities filed under one key: most keys hold one, kept as the bare id (a one-item
#: tuple would add 48 bytes to each of about a million keys).
Ids = int | tuple[int, ...]
#: A place index key: a UPRN, or a pair such as (USRN, house).
Key = str | tuple[str, str]
K = TypeVar("K")


def _ids(table: dict[K, Ids], key: K) -> tuple[int, ...]:
    ids = table.get(key, ())
    return (ids,) if isinstance(ids, int) else ids


def _add(table: dict[K, Ids], key: K, entity_id: int) -> bool:
    """File ``entity_id`` under ``key``; True when the key is new."""
    ids = _ids(table, key)
    if not ids:
        table[key] = entity_id
        return True
    if entity_id not in ids:
        table[key] = (*ids, entity_id)
    return False


def _discard(table: dict[K, Ids], key: K, entity_id: int) -> bool:
    """Unfile ``entity_id``; True when the key is now gone."""
    ids = _ids(table, key)
    if entity_id not in ids:
        return False
    rest = tuple(i for i in ids if i != entity_id)
    if rest:
        table[key] = rest[0] if len(rest) == 1 else rest
        return False
    del table[key]
    return True


# --- near names: rapidfuzz's C scorer first ---------------------------------------------------


@cache
def _extract() -> Callable[..., list[tuple[str, float, Any]]]:
    """rapidfuzz's ``process.extract`` with the Indel similarity, imported at the first
    near-name scan (a desk that never asks about a person with a date of birth does not
    load the library)."""
    from rapidfuzz import process
    from rapidfuzz.distance import Indel

    return partial(process.extract, scorer=Indel.normalized_similarity, limit=None)


def near_names(name: str, known: Iterable[str], threshold: float) -> list[str]:
    """The names of ``known`` other than ``name`` whose difflib ratio with it
    (``SequenceMatcher(None, known, name).ratio()``, as ``match_person`` computes it)
    reaches ``threshold``, in no particular order.

    rapidfuzz's Indel similarity, 2·LCS / (n + m), is an upper bound of difflib's ratio
    (difflib's matching blocks are a common subsequence), so the names it rejects (in C, a
    margin below the threshold for rounding) are never near; the few it keeps are checked
    with difflib itself."""
    cutoff = max(threshold - 1e-9, 0.0)
    matcher: difflib.SequenceMatcher[str] | None = None
    near = []
    for other, _score, _key in _extract()(name, known, score_cutoff=cutoff):
        if other == name:
            continue
        if matcher is None:  # holds ``name`` as seq2, which difflib prepares once
            matcher = difflib.SequenceMatcher(None, "", name)
        matcher.set_seq1(other)
        if matcher.ratio() >= threshold:
            near.append(other)
    return near


# --- streets: a deletion neighbourhood -------------------------------------------------------


#: The vocabulary of every filed street, whatever its postcode: what a query without a
#: (readable) postcode is compared with.
ALL_STREETS = "*"
#: The vocabulary of the streets filed without a readable postcode: a query with a postcode
#: is compared with these and with its own district's.
NO_DISTRICT = ""


def _neighbourhood(street: str) -> Iterator[str]:
    """``street`` and each string one letter shorter (one letter dropped): two strings one
    typo apart (``one_typo``: a letter inserted, dropped or changed, or two neighbouring
    letters swapped) always share one of these."""
    yield street
    for i in range(len(street)):
        yield street[:i] + street[i + 1 :]


class _Streets:
    """The distinct streets proper of the filed locations (those with a house), in
    vocabularies: every street (``ALL_STREETS``), each postcode district's, and those without
    a postcode (``NO_DISTRICT``); and which of them a query street may be: the same street,
    or one typo away (``one_typo``) with a difflib ratio reaching the threshold, what
    ``street_similar`` needs beyond the same name (which ``typed_named`` answers).

    Found through a deletion neighbourhood: each known street is filed under itself and
    under every string one letter shorter; a street one typo from a query shares one of
    those keys with it (a changed or swapped letter: the same letter dropped from both; an
    inserted or dropped one: one side dropped). A lookup is about twenty dictionary probes
    whatever the number of streets, so a street never asked about before costs what a known
    one does; the few candidates are then checked with the domain's own ``one_typo`` and
    ``street_ratio``."""

    def __init__(self, threshold: float = DEFAULT_WARNING_POLICY.address_similarity) -> None:
        #: The policy's threshold (the default of ``similar``).
        self.threshold = threshold
        #: (vocabulary, street) → how many filed entities use it there.
        self._count: dict[tuple[str, str], int] = {}
        #: Neighbourhood key → the known streets filed under it (one as the bare string).
        self._near: dict[str, str | tuple[str, ...]] = {}
        #: Each name of a known street with a type ("acre" for "acre lane") → those streets:
        #: a street typed without its type ("30 acre london") may be any of them.
        self._typed_by_name: dict[str, set[str]] = {}
        #: Answers of ``similar`` (a street comes up lookup after lookup), dropped whenever a
        #: street comes or goes, or when full.
        self._memo: dict[tuple[str, float, tuple[str, ...]], frozenset[str]] = {}

    def add(self, vocabulary: str, street: str) -> None:
        n = self._count[vocabulary, street] = self._count.get((vocabulary, street), 0) + 1
        if n == 1:
            self._memo.clear()
        if n == 1 and vocabulary == ALL_STREETS:
            name, kind = street_type(street)
            if kind is not None:
                self._typed_by_name.setdefault(name, set()).add(street)
            near = self._near
            for key in set(_neighbourhood(street)):
                held = near.get(key)
                if held is None:
                    near[key] = street
                else:
                    near[key] = (held, street) if isinstance(held, str) else (*held, street)

    def discard(self, vocabulary: str, street: str) -> None:
        n = self._count[vocabulary, street] = self._count[vocabulary, street] - 1
        if n == 0:
            del self._count[vocabulary, street]
            self._memo.clear()
            if vocabulary != ALL_STREETS:
                return
            name, kind = street_type(street)
            if kind is not None:
                named = self._typed_by_name[name]
                named.discard(street)
                if not named:
                    del self._typed_by_name[name]
            near = self._near
            for key in set(_neighbourhood(street)):
                held = near[key]
                rest = () if isinstance(held, str) else tuple(s for s in held if s != street)
                if not rest:
                    del near[key]
                else:
                    near[key] = rest[0] if len(rest) == 1 else rest

    def typed_named(self, name: str) -> AbstractSet[str]:
        """The known streets with a type whose name is ``name`` ("acre lane" and "acre road"
        for "acre"; not to be changed by the caller)."""
        return self._typed_by_name.get(name, frozenset())

    def similar(
        self, street: str, threshold: float | None = None, within: Sequence[str] = (ALL_STREETS,)
    ) -> frozenset[str]:
        """Every street of the vocabularies ``within`` that is ``street`` or one typo from it
        with a difflib ratio (``street_ratio(known, street)``) reaching ``threshold`` (the
        policy's by default)."""
        t = self.threshold if threshold is None else threshold
        key = (street, t, tuple(within))
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            found = self._memo[key] = frozenset(self._near_to(street, t, within))
        return found

    def _near_to(self, street: str, t: float, within: Sequence[str]) -> set[str]:
        near, count = self._near, self._count
        anywhere = ALL_STREETS in within
        found: set[str] = set()
        for key in _neighbourhood(street):
            held = near.get(key)
            if held is None:
                continue
            for known in (held,) if isinstance(held, str) else held:
                if known in found or not (anywhere or any((v, known) in count for v in within)):
                    continue
                if known == street or (
                    one_typo(known, street) and street_ratio(known, street) >= t
                ):
                    found.add(known)
        return found


# --- places -------------------------------------------------------------------------------------


def _parsed(place: PlaceModel) -> ParsedPlace:
    return ParsedPlace.of(place_of(place))


def _filed(place: PlaceModel) -> ParsedPlace:
    """``ParsedPlace.of`` a filed location, its words interned: thousands of filed locations
    share a street name, a house number, a postcode or a USRN."""
    p = _parsed(place)
    parts = None
    if p.parts is not None:
        flat, house = p.parts.flat, p.parts.house
        parts = AddressParts(
            flat and intern(flat),
            house and intern(house),
            intern(p.parts.street),
            p.parts.postcode and intern(p.parts.postcode),
        )
    return ParsedPlace(
        p.uprn,
        p.parent_uprn and intern(p.parent_uprn),  # a block's flats share it
        p.usrn and intern(p.usrn),  # a street's addresses share it
        parts,
        p.postcode and intern(p.postcode),
        p.district and intern(p.district),
    )


# Tables of the place index, by what a key is made of.
_UPRN, _PARENT, _STREET_HOUSE, _HOUSE_POSTCODE, _HOUSE_STREET = range(5)


def _filed_keys(p: ParsedPlace) -> Iterator[tuple[int, Key]]:
    """The keys a filed location is found by."""
    if p.uprn:
        yield _UPRN, p.uprn
    if p.parent_uprn:
        yield _PARENT, p.parent_uprn
    house = p.house
    if p.parts is None or house is None:
        return
    if p.usrn:
        yield _STREET_HOUSE, (p.usrn, house)
    if p.postcode:
        yield _HOUSE_POSTCODE, (house, p.postcode)
    if p.parts.street:
        yield _HOUSE_STREET, (house, p.parts.street)


def _vocabularies(p: ParsedPlace) -> Iterator[tuple[str, str]]:
    """The street vocabularies a filed location's street belongs to (see ``_Streets``)."""
    if p.parts is not None and p.house is not None and p.parts.street:
        yield ALL_STREETS, p.parts.street
        yield p.district or NO_DISTRICT, p.parts.street


def _best_kind(kinds: Iterable[MatchKind | None]) -> MatchKind | None:
    """The strongest, the first on a tie (``_best`` in the protocol)."""
    best = None
    for kind in kinds:
        if kind is not None and (best is None or _rank(kind) < _rank(best)):
            best = kind
    return best


def _rank(kind: str) -> tuple[bool, int]:
    return _RANKS[kind]


#: Each kind's strength, smaller first: definite before possible, then declaration order.
_RANKS: dict[str, tuple[bool, int]] = {
    kind.value: (kind.possible, MATCH_RANK[kind]) for kind in MatchKind
}
#: Weaker than any kind's strength.
_WORST = (True, len(MatchKind))


def _pair(table: int, key: tuple[str, str]) -> tuple[str, str]:
    """A pair key as (the part many keys share: USRN, postcode or street; the house)."""
    return key if table == _STREET_HOUSE else (key[1], key[0])


class _PlaceIndex:
    """Entity ids by the location keys of ``match_parsed``: every entity that can match a
    place is filed under a key the place also yields. The index's one place index holds the
    schemes (by id) and the orders (by key, below zero: ``_order_key``), so that a lookup
    probes each key once for both.

    A pair key (USRN and house, house and postcode, house and street) is held as a table of
    houses per USRN, postcode or street: a street's houses share one entry, where a tuple per
    key took 72 bytes for each of some 600,000."""

    def __init__(self, streets: _Streets) -> None:
        #: By UPRN and by parent UPRN.
        self._single: tuple[dict[str, Ids], dict[str, Ids]] = ({}, {})
        #: By pair: each table by the shared part, then by house.
        self._pairs: dict[int, dict[str, dict[str, Ids]]] = {
            t: {} for t in (_STREET_HOUSE, _HOUSE_POSTCODE, _HOUSE_STREET)
        }
        self._streets = streets

    def add(self, entity_id: int, places: Iterable[ParsedPlace]) -> None:
        for table, key in {k for p in places for k in _filed_keys(p)}:
            if isinstance(key, str):
                _add(self._single[table], key, entity_id)
            else:
                shared, house = _pair(table, key)
                _add(self._pairs[table].setdefault(shared, {}), house, entity_id)
        for vocabulary, street in {v for p in places for v in _vocabularies(p)}:
            self._streets.add(vocabulary, street)

    def remove(self, entity_id: int, places: Iterable[ParsedPlace]) -> None:
        for table, key in {k for p in places for k in _filed_keys(p)}:
            if isinstance(key, str):
                _discard(self._single[table], key, entity_id)
                continue
            shared, house = _pair(table, key)
            houses = self._pairs[table].get(shared)
            if houses is not None and _discard(houses, house, entity_id) and not houses:
                del self._pairs[table][shared]
        for vocabulary, street in {v for p in places for v in _vocabularies(p)}:
            self._streets.discard(vocabulary, street)

    def candidates(self, q: ParsedPlace, similar: Iterable[str]) -> set[int]:
        """The entities filed under a key of a location that can match ``q``
        (``match_parsed``); ``similar``: the filed streets that can pass the free-text
        rule's street ratio for ``q``. Each key is probed where it is held, nothing built."""
        found: set[int] = set()
        for uprn in (q.uprn, q.parent_uprn):
            if uprn:
                # The marker's UPRN is the place's (UPRN) or its block's (PARENT_UPRN); the
                # marker's block is the place (CHILD_UPRN) or the place's block (SAME_BLOCK).
                for table in self._single:
                    _gather(table.get(uprn), found)
        house = q.house
        if house is None:
            return found  # every address rule needs the same house on both sides
        # Each pair key as _pair files it: (USRN, house), (postcode, house), (street, house).
        pairs = self._pairs
        if q.usrn:
            _gather(pairs[_STREET_HOUSE].get(q.usrn, _NO_HOUSES).get(house), found)
        if q.postcode:
            _gather(pairs[_HOUSE_POSTCODE].get(q.postcode, _NO_HOUSES).get(house), found)
        by_street = pairs[_HOUSE_STREET]
        for street in similar:
            _gather(by_street.get(street, _NO_HOUSES).get(house), found)
        return found


#: The houses of a USRN, postcode or street not filed.
_NO_HOUSES: dict[str, Ids] = {}


def _gather(ids: Ids | None, found: set[int]) -> None:
    """Add the entities filed under a key (``None``: none) to ``found``."""
    if ids is None:
        return
    if isinstance(ids, int):
        found.add(ids)
    else:
        found.update(ids)


# --- persons ------------------------------------------------------------------------------------


class _PersonIndex:
    """Order ids by the persons named on them, for ``match_person``: by normalised name (a
    lookup's candidates, whatever their dates of birth: the caller drops an order none of
    whose persons has the date of birth asked about, or none, before matching it)."""

    def __init__(self) -> None:
        self._by_name: dict[str, Ids] = {}
        #: Names known with each date of birth, with how many orders name each: the
        #: near-identical-name path scans these.
        self._names_by_dob: dict[date, dict[str, int]] = {}
        #: Answers of that scan, (name, date of birth, threshold) → the other names near it
        #: (the same persons are asked about lookup after lookup as an incident is worked);
        #: dropped whenever a person comes or goes, or when full.
        self._near: dict[tuple[str, date, float], tuple[str, ...]] = {}

    def add(self, entity_id: int, persons: Iterable[Person]) -> None:
        if self._near:
            self._near.clear()
        for name, dob in _person_keys(persons):
            _add(self._by_name, name, entity_id)
            if dob is not None:
                names = self._names_by_dob.setdefault(dob, {})
                names[name] = names.get(name, 0) + 1

    def remove(self, entity_id: int, persons: Iterable[Person]) -> None:
        if self._near:
            self._near.clear()
        for name, dob in _person_keys(persons):
            _discard(self._by_name, name, entity_id)
            if dob is not None:
                names = self._names_by_dob[dob]
                if names[name] > 1:
                    names[name] -= 1
                    continue
                del names[name]
                if not names:
                    del self._names_by_dob[dob]

    def candidates(self, name: str, dob: date | None, threshold: float) -> set[int]:
        """The orders that may name the person asked about: ``name`` normalised (not
        blank), ``dob`` their date of birth or None."""
        # Without a date of birth the same name is a possible match, whatever the DOB; with
        # one, the same name with that DOB or none (the caller drops the others).
        found = set(_ids(self._by_name, name))
        if dob is None:
            return found
        key = (name, dob, threshold)
        near = self._near.get(key)
        if near is None:
            if len(self._near) >= _NEAR_LIMIT:
                self._near.clear()
            near = self._near[key] = self._near_names(name, dob, threshold)
        for known in near:
            found.update(_ids(self._by_name, known))
        return found

    def _near_names(self, name: str, dob: date, threshold: float) -> tuple[str, ...]:
        """The other names known with date of birth ``dob`` whose difflib ratio with
        ``name`` reaches ``threshold`` (``near_names``)."""
        names = self._names_by_dob.get(dob)
        return tuple(near_names(name, names.keys(), threshold)) if names else ()


def _person_keys(persons: Iterable[Person]) -> set[tuple[str, date | None]]:
    return {(n, p.dob) for p in persons if (n := normalise_name(p.name))}


# Where the index reads the persons' names and dates of birth in a packed order.
_O_SUBJECT, _O_PROTECTED = (position(OrderOut, f) for f in ("subject", "protected_persons"))
_P_NAME, _P_DOB = (position(PersonModel, f) for f in ("name", "dob"))

E = TypeVar("E", SchemeOut, OrderOut)


def _held(model: E | Packed, cls: type[E]) -> tuple[E, Packed]:
    """A scheme or order and its packed form, from either (a packed one checked)."""
    if isinstance(model, Packed):
        return unpack_as(cls, model), model
    if not isinstance(model, cls):
        raise TypeError(f"Expected a {cls.__name__}, not a {type(model).__name__}.")
    return model, pack(model)


def _order_persons(order: OrderOut) -> list[Person]:
    return [Person(p.name, p.dob) for p in (order.subject, *order.protected_persons)]


def persons_match_packed(
    raw: tuple[Any, ...], name: str, dob: Any, policy: WarningPolicy
) -> tuple[MatchKind, str] | None:
    """The protocol's ``persons_match`` on an order's persons read from its packed fields
    (``raw``: ``fields(packed)``), for a person asked about by normalised name (``name``:
    ``normalise_name``, not blank) and date of birth as the fields hold it (``dob``:
    ``encoded``, or None): the strongest match, the subject's on a tie, with what matched.

    Nothing is unpacked and no ``Person`` built: each name is compared by the domain's
    ``match_names`` on its normalised form, and a person with another known date of birth
    is passed over before its name is normalised (a different date of birth never
    matches)."""
    best: tuple[MatchKind, str] | None = None
    best_rank = _WORST
    on = "subject"
    for p in (raw[_O_SUBJECT], *raw[_O_PROTECTED]):
        known_dob = p[_P_DOB]
        if dob is None or known_dob is None or known_dob == dob:
            kind = match_names(normalise_name(p[_P_NAME]), known_dob, name, dob, policy)
            if kind is not None and _rank(kind) < best_rank:
                best, best_rank = (kind, on), _rank(kind)
        on = "protected_person"
    return best


def _checked_id(entity_id: int, what: str) -> int:
    """A scheme's or order's id as the index files it: the server's keys are never below
    zero, which leaves the negative numbers to the orders' keys (``_order_key``)."""
    if entity_id < 0:
        raise ValueError(f"A {what} with id {entity_id} cannot be held: ids are never negative.")
    return entity_id


def _order_key(order_id: int) -> int:
    """The key an order is held and filed by: below zero (``~order_id``), so that one place
    index holds schemes (by id, zero or more) and orders apart."""
    return ~order_id


class _HeldScheme:
    """A scheme as the index holds it: packed, its location split, its expiry and version."""

    __slots__ = ("expires_at", "packed", "spot", "version")

    def __init__(self, packed: Packed, spot: ParsedPlace, expires_at: datetime, version: int):
        self.packed = packed
        self.spot = spot
        self.expires_at = expires_at
        self.version = version


def _scheme(packed: Packed) -> SchemeOut:
    return unpack_as(SchemeOut, packed)


def _order(packed: Packed) -> OrderOut:
    return unpack_as(OrderOut, packed)


def _strength(w: IndexedWarning) -> tuple[bool, int]:
    """How strong a warning's match is, smaller first."""
    return _rank(w.match)


class WarningIndex:
    """Schemes and orders held in memory, indexed so that a lookup touches only what matches.

    A lookup costs some tens of microseconds plus some per warning returned, a misspelt or
    never-seen street included (``tests/bench/bench_warnings.py``: 100,000 schemes and
    100,000 orders).
    Not thread-safe: one thread updates and queries it.
    """

    def __init__(self, policy: WarningPolicy = DEFAULT_WARNING_POLICY) -> None:
        self.policy = policy
        #: Goes up with every change of what is held (so a reader can tell "nothing changed").
        self.revision = 0
        self._clear()
        self._restart_scheme_log()

    def _clear(self) -> None:
        #: Held packed (``cache.packed``): a fifth of the memory of the models, unpacked for
        #: the warnings a lookup builds; each scheme with its location split once, its expiry
        #: and version.
        #: Schemes by id; orders by their key (``_order_key``: below zero).
        self._schemes: dict[int, _HeldScheme] = {}
        self._orders: dict[int, Packed] = {}
        #: Each order's locations split once (one held bare; none, none held).
        self._order_spots: dict[int, ParsedPlace | tuple[ParsedPlace, ...]] = {}
        # Shared by schemes and orders: a query's similar streets are found once.
        self._streets = _Streets(self.policy.address_similarity)
        #: Schemes and orders in one place index (schemes by id, orders by key): a lookup
        #: probes each key once, and a street's or postcode's houses share one table.
        self._places = _PlaceIndex(self._streets)
        self._order_persons = _PersonIndex()
        #: (expires_at, id) of every scheme held, sorted: expiry questions are a bisect.
        self._expiry: list[tuple[datetime, int]] = []
        #: The orders' severity and expiry wording by expiry date, for the day of the lookup.
        self._expiries = Expiries()

    def __len__(self) -> int:
        """Schemes and orders held (expired schemes included until removed)."""
        return len(self._schemes) + len(self._orders)

    # --- updates -------------------------------------------------------------------------

    def replace(
        self,
        schemes: Iterable[SchemeOut | Packed],
        orders: Iterable[OrderOut | Packed],
        policy: WarningPolicy | None = None,
    ) -> None:
        """Replace everything (after a snapshot, or at start from the cache); the schemes and
        orders may come packed (``cache.packed``), as the cache loads them."""
        self.policy = policy or self.policy
        self.revision += 1
        self._clear()
        collecting = gc.isenabled()
        # Each one filed is packed or unpacked, and the other form dropped: refcounting frees
        # them, and the collector's passes over what is filed would triple the time.
        gc.disable()
        try:
            for s in schemes:
                self._add_scheme(*_held(s, SchemeOut))
            for o in orders:
                self._add_order(*_held(o, OrderOut))
        finally:
            if collecting:
                gc.enable()
        self._expiry = sorted((s.expires_at, sid) for sid, s in self._schemes.items())
        self._restart_scheme_log()

    def upsert_scheme(self, scheme: SchemeOut) -> None:
        """Add a scheme, or replace the one with its id (its old location keys go)."""
        self.remove_scheme(scheme.id)
        self.revision += 1
        self._add_scheme(*_held(scheme, SchemeOut))
        insort(self._expiry, (scheme.expires_at, scheme.id))
        self._log_scheme(scheme.id)

    def remove_scheme(self, scheme_id: int) -> None:
        """Forget a scheme (ended, expired, or deleted); an unknown id is ignored."""
        old = self._schemes.pop(scheme_id, None)
        if old is None:
            return
        self.revision += 1
        self._places.remove(scheme_id, [old.spot])
        entry = (old.expires_at, scheme_id)
        self._expiry.pop(bisect_right(self._expiry, entry) - 1)
        self._log_scheme(scheme_id)

    def upsert_order(self, order: OrderOut) -> None:
        """Add an order, or replace the one with its id (its old keys go)."""
        self.remove_order(order.id)
        self.revision += 1
        self._add_order(*_held(order, OrderOut))

    def remove_order(self, order_id: int) -> None:
        """Forget an order; an unknown id is ignored."""
        key = _order_key(order_id)
        old = self._orders.pop(key, None)
        if old is None:
            return
        self.revision += 1
        self._places.remove(key, self._spots(self._order_spots.pop(key, ())))
        self._order_persons.remove(key, _order_persons(unpack_as(OrderOut, old)))

    def _add_scheme(self, scheme: SchemeOut, packed: Packed) -> None:
        """File a scheme under its location; the caller files its expiry (one sort for a
        bulk load)."""
        sid = _checked_id(scheme.id, "scheme")
        spot = _filed(scheme.location)
        self._schemes[sid] = _HeldScheme(packed, spot, scheme.expires_at, scheme.version)
        self._places.add(sid, [spot])

    def _add_order(self, order: OrderOut, packed: Packed) -> None:
        # The one key object for all the order's entries (the model's id is dropped).
        key = _order_key(_checked_id(order.id, "order"))
        self._orders[key] = packed
        spots = tuple(_filed(p) for p in order.locations)
        if spots:
            self._order_spots[key] = spots[0] if len(spots) == 1 else spots
        self._places.add(key, spots)
        self._order_persons.add(key, _order_persons(order))

    # --- lookups -------------------------------------------------------------------------

    def lookup(
        self, place: Place | None, people: Sequence[Person], now: datetime
    ) -> list[IndexedWarning]:
        """Every warning for a place and/or persons, most severe first (as ``find_warnings``);
        schemes expired by ``now`` (server time) are never returned.

        With several persons: each warning once, with its strongest match (the first person's
        on a tie), as if ``find_warnings`` had run for each person and the results merged.
        Each warning is built from its packed scheme or order without unpacking it
        (``cache.indexed_warning``): ``scheme`` / ``order`` unpack it when read.
        """
        found: dict[int, IndexedWarning] = {}  # by scheme id or order key
        expiries = self._expiries.at(now, self.policy)
        if place is not None:
            self._place_warnings(place, now, expiries, found)
        for who in people:
            self._person_warnings(who, now, expiries, found)
        warnings = list(found.values())
        return sort_warnings(warnings) if len(warnings) > 1 else warnings

    def _place_warnings(
        self,
        place: Place,
        now: datetime,
        expiries: Expiries,
        found: dict[int, IndexedWarning],
    ) -> None:
        q = ParsedPlace.of(place)
        policy = self.policy
        for key in self._places.candidates(q, self._similar_streets(q)):
            if key >= 0:
                held = self._schemes[key]
                kind = match_parsed(held.spot, q, policy)
                if kind is not None and scheme_live(held.expires_at, now):
                    found[key] = scheme_warning(held.packed, held.expires_at, kind, policy)
                continue
            spots = self._spots(self._order_spots.get(key, ()))
            kind = _best_kind(match_parsed(m, q, policy) for m in spots)
            if kind is not None:
                found[key] = order_warning(self._orders[key], kind, "location", now, expiries)

    def _similar_streets(self, q: ParsedPlace) -> tuple[str, ...]:
        """The filed streets that may be ``street_similar`` to ``q``'s: the same or one typo
        away with a ratio reaching the policy's (with a district, its district's and those
        filed without one; without, every street), and those with the same name when one
        side gives no street type (every district's: ``match_parsed`` sorts them out)."""
        street = q.parts.street if q.parts is not None and q.house is not None else ""
        if not street:
            return ()
        threshold = self.policy.address_similarity
        name, kind = street_type(street)
        # "acre lane" may be a filed "acre"; "acre" may be any filed "acre <type>".
        named = (name,) if kind is not None else self._streets.typed_named(street)
        within = (ALL_STREETS,) if q.district is None else (q.district, NO_DISTRICT)
        return (*self._streets.similar(street, threshold, within), *named)

    def _person_warnings(
        self,
        who: Person,
        now: datetime,
        expiries: Expiries,
        found: dict[int, IndexedWarning],
    ) -> None:
        # The order's location match (if any) is already in ``found``; a person's match
        # replaces it only when strictly stronger, as ``find_warnings`` keeps the first best.
        # The order is matched on its persons read packed (``order_person_match`` on them),
        # and its warning built from the same fields read.
        policy = self.policy
        name = normalise_name(who.name)
        if not name:
            return  # a blank name matches no one
        dob = None if who.dob is None else encoded(who.dob)
        for key in self._order_persons.candidates(name, who.dob, policy.address_similarity):
            packed = self._orders[key]
            raw = fields(packed)
            match = persons_match_packed(raw, name, dob, policy)
            if match is None:
                continue
            kind, on = match
            held = found.get(key)
            if held is None or _rank(kind) < _strength(held):
                found[key] = order_warning(packed, kind, on, now, expiries, raw)

    @staticmethod
    def _spots(held: ParsedPlace | tuple[ParsedPlace, ...]) -> tuple[ParsedPlace, ...]:
        return (held,) if isinstance(held, ParsedPlace) else held

    def for_incident(self, incident: Incident, now: datetime) -> list[IndexedWarning]:
        """``lookup`` for the incident's location, the persons named on it and the caller
        (when a name was given; with the date of birth if one was)."""
        loc = incident.location
        place = Place(
            uprn=loc.uprn,
            parent_uprn=loc.parent_uprn,
            usrn=loc.usrn,
            address=loc.address,
            postcode=loc.postcode,
        )
        people: list[Person] = list(incident.persons)
        if incident.caller.name:
            people.append(Person(incident.caller.name, incident.caller.dob))
        return self.lookup(place, people, now)

    def schemes(self, now: datetime) -> list[SchemeOut]:
        """Every live scheme (for the supervisors' schemes view), soonest expiry first."""
        start = self._first_live(now)
        return [_scheme(self._schemes[sid].packed) for _, sid in self._expiry[start:]]

    def scheme(self, scheme_id: int) -> SchemeOut | None:
        """One scheme held (unpacked; expired ones included until removed), or None."""
        held = self._schemes.get(scheme_id)
        return None if held is None else _scheme(held.packed)

    def live_scheme_ids(self, now: datetime) -> list[int]:
        """The ids of the live schemes, soonest expiry first (nothing unpacked)."""
        return [sid for _, sid in self._expiry[self._first_live(now) :]]

    def changed_schemes_since(self, revision: int) -> set[int] | None:
        """The ids of the schemes added, changed or removed after ``revision`` (an order's
        change is none of them); None when that is no longer known (everything replaced
        since, or more changes since than the index remembers): read them all again."""
        if revision < self._scheme_log_base:
            return None
        revisions = self._scheme_log_revisions
        return set(self._scheme_log_ids[bisect_right(revisions, revision) :])

    def _restart_scheme_log(self) -> None:
        """Everything replaced: the changes before now are no longer told apart."""
        #: The revision and id of each scheme change, oldest first (arrays: some 16 bytes a
        #: change), the last ``_SCHEME_LOG_LIMIT`` to ``2 * _SCHEME_LOG_LIMIT`` of them.
        self._scheme_log_revisions = array("q")
        self._scheme_log_ids = array("q")
        #: Every scheme change after this revision is in the log.
        self._scheme_log_base = self.revision

    def _log_scheme(self, scheme_id: int) -> None:
        revisions, ids = self._scheme_log_revisions, self._scheme_log_ids
        revisions.append(self.revision)
        ids.append(scheme_id)
        if len(revisions) > 2 * _SCHEME_LOG_LIMIT:
            self._scheme_log_base = revisions[_SCHEME_LOG_LIMIT - 1]
            del revisions[:_SCHEME_LOG_LIMIT]
            del ids[:_SCHEME_LOG_LIMIT]

    def orders(self) -> list[OrderOut]:
        """Every order held, by id."""
        return [_order(self._orders[key]) for key in sorted(self._orders, reverse=True)]

    def scheme_versions(self) -> dict[int, int]:
        """Each scheme's version, by id (expired ones included until removed)."""
        return {sid: s.version for sid, s in self._schemes.items()}

    def expired_scheme_ids(self, now: datetime) -> list[int]:
        """Schemes held whose expiry is at or before ``now`` (to purge)."""
        return [sid for _, sid in self._expiry[: self._first_live(now)]]

    def next_scheme_expiry(self) -> datetime | None:
        """The earliest ``expires_at`` of the schemes held (when to purge next)."""
        return self._expiry[0][0] if self._expiry else None

    def _first_live(self, now: datetime) -> int:
        """Index in ``_expiry`` of the first scheme still live at ``now`` (``scheme_live``)."""
        return bisect_right(self._expiry, now, key=lambda e: e[0])
