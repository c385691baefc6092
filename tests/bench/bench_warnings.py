"""Benchmark (d): warning lookups from the client's in-memory index, beside raw indexed sqlite3.

100,000 special schemes and 100,000 protective orders at made-up London addresses (streets with
USRNs, houses and flats in blocks with UPRNs and parent UPRNs, postcodes shared by neighbours;
subjects and protected persons with dates of birth) are loaded into a ``WarningIndex``. Then
10,000 incident lookups per run, 5 runs, each run a fresh mix: an exact UPRN hit, a flat in a
marked block, an address without UPRN (one in ten with a typo in the street, one in five typed
as a call handler types it: "3/14 kelly rd london e8 1hr"), a person named on an order, and
nothing known. Beside it, in the same run, the same lookups against an
in-memory sqlite3 copy indexed by UPRN, parent UPRN, USRN + house, house + postcode and
normalised name, one SELECT per key (it finds ids only: no misspelt streets, no warnings built).
Target: index p99 <= 0.1 ms per lookup. Each lookup's warnings are read as the queue's flags
read them (kind, scheme or order id, severity); their scheme or order is not (the index
unpacks it only when read: the operator opening a warning's details).

    uv run python -m tests.bench.bench_warnings [N_EACH] [--gc-freeze]

``--gc-freeze`` moves everything built so far out of the garbage collector's sight
(``gc.freeze()``) before timing: with some ten million long-lived objects, a full collection
otherwise pauses a lookup now and then for milliseconds.
"""

from __future__ import annotations

import gc
import random
import sqlite3
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from dispatchdesk.cache.warning_index import WarningIndex
from dispatchdesk.domain.warnings import (
    OrderType,
    Person,
    Place,
    ReviewState,
    SchemeCategory,
    address_parts,
    normalise_name,
    normalise_postcode,
)
from dispatchdesk.protocol.warnings import OrderOut, PersonModel, PlaceModel, SchemeOut
from dispatchdesk.server.simulation.london import BLOCK_NAMES, BOROUGHS
from tests.bench.common import NOW, percentile

N_EACH = 100_000
LOOKUPS = 10_000
RUNS = 5
TODAY = NOW.date()

_STEMS = (
    "Acacia",
    "Albion",
    "Alexandra",
    "Alma",
    "Ashgrove",
    "Balfour",
    "Beaconsfield",
    "Bedford",
    "Belgrave",
    "Birkbeck",
    "Blenheim",
    "Bouverie",
    "Brunswick",
    "Cambridge",
    "Carlton",
    "Cavendish",
    "Chatsworth",
    "Clarence",
    "Clifton",
    "Colville",
    "Cranbrook",
    "Dalston",
    "Denmark",
    "Devonshire",
    "Dorset",
    "Eldon",
    "Elgin",
    "Ellesmere",
    "Fairfax",
    "Ferndale",
    "Glenarm",
    "Gloucester",
    "Grafton",
    "Granville",
    "Grosvenor",
    "Hamilton",
    "Hanover",
    "Harcourt",
    "Holland",
    "Inglis",
    "Kelross",
    "Kenwood",
    "Lansdowne",
    "Leighton",
    "Lordship",
    "Lyndhurst",
    "Manor",
    "Marlborough",
    "Melbourne",
    "Milton",
    "Montague",
    "Nelson",
    "Norfolk",
    "Osborne",
    "Oxford",
    "Palmerston",
    "Pemberton",
    "Portland",
    "Queensbridge",
    "Ravensbourne",
    "Richmond",
    "Rosebery",
    "Salisbury",
    "Sandringham",
    "Shakespeare",
    "Somerset",
    "Stanhope",
    "Stamford",
    "Tavistock",
    "Trafalgar",
    "Tredegar",
    "Tyrwhitt",
    "Victoria",
    "Warwick",
    "Wellington",
    "Westbourne",
    "Whitfield",
    "Winchester",
    "Windsor",
    "Wolseley",
    "York",
)
_SUFFIXES = (
    "Road",
    "Street",
    "Avenue",
    "Lane",
    "Gardens",
    "Close",
    "Grove",
    "Terrace",
    "Way",
    "Place",
    "Crescent",
    "Hill",
)
_FIRST = (
    "Aaliyah",
    "Adam",
    "Aisha",
    "Alex",
    "Amara",
    "Amir",
    "Ana",
    "Ben",
    "Bilal",
    "Chen",
    "Chloe",
    "Daniel",
    "David",
    "Dean",
    "Dylan",
    "Elena",
    "Emily",
    "Fatima",
    "Femi",
    "Grace",
    "Hannah",
    "Hassan",
    "Ibrahim",
    "Isaac",
    "Jack",
    "James",
    "Jamal",
    "Jessica",
    "John",
    "Joseph",
    "Kareem",
    "Kim",
    "Kofi",
    "Laura",
    "Leah",
    "Leon",
    "Liam",
    "Lucy",
    "Maria",
    "Mark",
    "Mary",
    "Mohammed",
    "Nadia",
    "Nathan",
    "Nia",
    "Noah",
    "Olivia",
    "Omar",
    "Oscar",
    "Patrick",
    "Priya",
    "Rachel",
    "Rahul",
    "Rebecca",
    "Ryan",
    "Samuel",
    "Sara",
    "Sean",
    "Sophie",
    "Tariq",
    "Thomas",
    "Tom",
    "Tunde",
    "Victoria",
    "Wei",
    "Yusuf",
    "Zainab",
    "Zoe",
)
_SURNAMES = (
    "Adams",
    "Ahmed",
    "Ali",
    "Allen",
    "Anderson",
    "Baker",
    "Begum",
    "Bell",
    "Brown",
    "Campbell",
    "Chen",
    "Clarke",
    "Cole",
    "Collins",
    "Cooper",
    "Davies",
    "Davis",
    "Edwards",
    "Evans",
    "Fernandes",
    "Fraser",
    "Green",
    "Hall",
    "Harris",
    "Hassan",
    "Hill",
    "Hughes",
    "Hussain",
    "Islam",
    "Jackson",
    "James",
    "Johnson",
    "Jones",
    "Kaur",
    "Kelly",
    "Khan",
    "King",
    "Kowalski",
    "Lee",
    "Lewis",
    "Martin",
    "Mensah",
    "Miah",
    "Miller",
    "Mitchell",
    "Moore",
    "Morgan",
    "Murphy",
    "Nguyen",
    "Nowak",
    "Okafor",
    "Okoro",
    "Osei",
    "Owen",
    "Parker",
    "Patel",
    "Phillips",
    "Price",
    "Rahman",
    "Roberts",
    "Robinson",
    "Rossi",
    "Scott",
    "Shah",
    "Silva",
    "Singh",
    "Smith",
    "Taylor",
    "Thomas",
    "Thompson",
    "Turner",
    "Walker",
    "Walsh",
    "Ward",
    "White",
    "Williams",
    "Wilson",
    "Wood",
    "Wright",
    "Young",
)
_INWARD = "ABDEFGHJLNPQRSTUWXYZ"
#: Markers sit at house numbers up to this; "nothing known" lookups go above it.
_MARKED_NUMBERS = 160


@dataclass(frozen=True)
class Street:
    index: int
    name: str
    district: str
    usrn: str


def _streets(rng: random.Random) -> list[Street]:
    """About 2,400 (borough, street) pairs from some 2,700 names, so some names recur across
    boroughs, as in London; each street has its own USRN and postcode district."""
    stems = sorted({*_STEMS, *_SURNAMES, *_FIRST})
    out: list[Street] = []
    for districts, _, _ in BOROUGHS.values():
        names = rng.sample([f"{s} {x}" for s in stems for x in _SUFFIXES], 150)
        for name in names:
            out.append(Street(len(out), name, rng.choice(districts), str(21_000_000 + len(out))))
    return out


def _is_block(street: Street, number: int) -> bool:
    return (street.index * 7 + number) % 3 == 0


def _place(street: Street, number: int, flat: int | None) -> PlaceModel:
    """A house, a block (``flat`` 0), or a flat in a block; neighbours share a postcode."""
    sector = number // 20
    unit = _INWARD[(street.index * 3 + sector) % 20] + _INWARD[(street.index + sector) % 20]
    postcode = f"{street.district} {sector % 9 + 1}{unit}"
    house_uprn = 100_000_000_000 + street.index * 20_000 + number * 50
    line = f"{number} {street.name}, London"
    if flat is None:
        return PlaceModel(address=line, postcode=postcode, uprn=str(house_uprn), usrn=street.usrn)
    block = f"{BLOCK_NAMES[number % len(BLOCK_NAMES)]}, {line}"
    if flat == 0:
        return PlaceModel(address=block, postcode=postcode, uprn=str(house_uprn), usrn=street.usrn)
    return PlaceModel(
        address=f"Flat {flat}, {block}",
        postcode=postcode,
        uprn=str(house_uprn + flat),
        parent_uprn=str(house_uprn),
        usrn=street.usrn,
    )


def _person(rng: random.Random) -> PersonModel:
    middle = f" {rng.choice(_FIRST)}" if rng.random() < 0.9 else ""
    dob = date(1950, 1, 1) + timedelta(days=rng.randrange(55 * 365))
    return PersonModel(name=f"{rng.choice(_FIRST)}{middle} {rng.choice(_SURNAMES)}", dob=dob)


def _typo(rng: random.Random, text: str) -> str:
    """Two neighbouring letters swapped, or one dropped, in the first word."""
    word, _, rest = text.partition(" ")
    i = rng.randrange(1, len(word) - 1)
    word = (
        (word[:i] + word[i + 1] + word[i] + word[i + 2 :])
        if rng.random() < 0.5
        else (word[:i] + word[i + 1 :])
    )
    return f"{word} {rest}"


@dataclass
class World:
    streets: list[Street]
    schemes: list[SchemeOut] = field(default_factory=list)
    orders: list[OrderOut] = field(default_factory=list)
    #: (street, number) of the blocks with a scheme on the whole block.
    marked_blocks: list[tuple[Street, int]] = field(default_factory=list)

    def random_marked_place(self, rng: random.Random) -> tuple[PlaceModel, tuple[Street, int]]:
        street = rng.choice(self.streets)
        number = rng.randint(1, _MARKED_NUMBERS)
        flat = rng.randint(1, 24) if _is_block(street, number) else None
        return _place(street, number, flat), (street, number)


def build_world(n: int, seed: int = 1) -> World:
    rng = random.Random(seed)
    world = World(_streets(rng))
    for i in range(1, n + 1):
        loc, (street, number) = world.random_marked_place(rng)
        if loc.parent_uprn and rng.random() < 0.15:  # a marker on the whole block
            loc = _place(street, number, 0)
            world.marked_blocks.append((street, number))
        # 2% already expired: held until purged, never shown.
        hours = rng.uniform(-48, -1) if rng.random() < 0.02 else rng.uniform(1, 180 * 24)
        world.schemes.append(
            SchemeOut(
                id=i,
                version=1,
                location=loc,
                category=rng.choice(list(SchemeCategory)),
                summary="Victim lives here; previous threats with a knife.",
                officer_in_case="DC Okafor",
                starts_at=NOW - timedelta(days=30),
                expires_at=NOW + timedelta(hours=hours),
                review_state=ReviewState.ACTIVE,
            )
        )
        n_locations = rng.choices((0, 1, 2), weights=(20, 70, 10))[0]
        expires = None if rng.random() < 0.2 else TODAY + timedelta(days=rng.randint(-60, 400))
        world.orders.append(
            OrderOut(
                id=i,
                version=1,
                order_type=rng.choice(list(OrderType)),
                subject=_person(rng),
                protected_persons=[_person(rng) for _ in range(rng.choice((0, 1, 1, 2)))],
                locations=[world.random_marked_place(rng)[0] for _ in range(n_locations)],
                conditions="Not to contact the protected person or go within 100 m of the address.",
                issued_on=TODAY - timedelta(days=200),
                expires_on=expires,
                source_ref=f"FAM/{i}",
            )
        )
    return world


def _query_place(m: PlaceModel) -> Place:
    return Place(
        uprn=m.uprn, parent_uprn=m.parent_uprn, usrn=m.usrn, address=m.address, postcode=m.postcode
    )


def _unmarked_place(rng: random.Random, world: World) -> Place:
    street = rng.choice(world.streets)
    return _query_place(_place(street, rng.randint(_MARKED_NUMBERS + 1, 240), None))


def _caller(rng: random.Random) -> list[Person]:
    """Half the callers give a name (no date of birth); some will share an order's name."""
    return [Person(_person(rng).name)] if rng.random() < 0.5 else []


def _exact(rng: random.Random, world: World) -> tuple[Place, list[Person]]:
    """A scheme's or an order's own address, UPRN and all."""
    if rng.random() < 0.5:
        return _query_place(rng.choice(world.schemes).location), _caller(rng)
    while not (o := rng.choice(world.orders)).locations:
        pass
    return _query_place(rng.choice(o.locations)), _caller(rng)


def _flat_in_block(rng: random.Random, world: World) -> tuple[Place, list[Person]]:
    street, number = rng.choice(world.marked_blocks)
    return _query_place(_place(street, number, rng.randint(1, 24))), _caller(rng)


def _address_only(rng: random.Random, world: World) -> tuple[Place, list[Person]]:
    """A marked address typed in, without UPRN or USRN; half the time with its postcode."""
    marked = rng.choice(world.schemes).location
    postcode = marked.postcode if rng.random() < 0.5 else None
    return Place(address=marked.address, postcode=postcode), _caller(rng)


def _misspelt(rng: random.Random, world: World) -> tuple[Place, list[Person]]:
    """The same, with the street misspelt: a street the index has never seen."""
    place, people = _address_only(rng, world)
    assert place.address is not None
    house = address_parts(place.address).house
    segment = next(s for s in place.address.split(", ") if s.startswith(f"{house} "))
    number, street = segment.split(" ", 1)
    address = place.address.replace(segment, f"{number} {_typo(rng, street)}")
    return Place(address=address, postcode=place.postcode), people


_TYPED_TYPES = {
    "Road": "rd",
    "Street": "st",
    "Avenue": "ave",
    "Lane": "ln",
    "Gardens": "gdns",
    "Close": "cl",
    "Grove": "gr",
    "Terrace": "terr",
    "Place": "pl",
    "Crescent": "cres",
    "Hill": "hl",
}


def _typed(rng: random.Random, world: World) -> tuple[Place, list[Person]]:
    """A marked address as a call handler types it: no commas, the street type abbreviated
    or left out, "london" or nothing at the end, the postcode on the line or not at all, a
    flat as "3/14", any case; no UPRN or USRN."""
    marked = rng.choice(world.schemes).location
    parts = address_parts(marked.address)
    words = marked.address.split(", ")
    street = next(w for w in words if w.startswith(f"{parts.house} ")).split(" ", 1)[1]
    name, kind = street.rsplit(" ", 1)
    kind = rng.choice([kind, _TYPED_TYPES.get(kind, kind), ""])
    house = f"{parts.flat}/{parts.house}" if parts.flat else parts.house
    line = f"{house} {name} {kind} {rng.choice(['london', 'London', ''])}"
    if rng.random() < 0.5 and marked.postcode:
        line += f" {rng.choice([marked.postcode, marked.postcode.replace(' ', '')])}"
    line = rng.choice([line, line.lower(), line.upper()])
    return Place(address=" ".join(line.split())), _caller(rng)


def _person_match(rng: random.Random, world: World) -> tuple[Place, list[Person]]:
    o = rng.choice(world.orders)
    named = rng.choice([o.subject, *o.protected_persons])
    return _unmarked_place(rng, world), [Person(named.name, named.dob), *_caller(rng)]


def _nothing(rng: random.Random, world: World) -> tuple[Place, list[Person]]:
    return _unmarked_place(rng, world), [Person("Zebedee Quintrell-Oduya", date(1971, 5, 2))]


MIX: dict[str, tuple[int, Callable[[random.Random, World], tuple[Place, list[Person]]]]] = {
    "exact UPRN hit": (25, _exact),
    "flat in a marked block": (15, _flat_in_block),
    "address only, no UPRN": (14, _address_only),
    "address typed as handlers type it": (4, _typed),
    "address only, street misspelt": (2, _misspelt),
    "person on an order": (20, _person_match),
    "nothing known": (20, _nothing),
}


def queries(world: World, n: int, seed: int) -> list[tuple[str, Place, list[Person]]]:
    rng = random.Random(seed)
    names = list(MIX)
    weights = [MIX[k][0] for k in names]
    out = []
    for name in rng.choices(names, weights=weights, k=n):
        place, people = MIX[name][1](rng, world)
        out.append((name, place, people))
    return out


# --- the sqlite3 reference ---------------------------------------------------------------------


def sqlite_reference(world: World) -> Callable[[Place, list[Person]], set[tuple[str, int]]]:
    """An in-memory sqlite3 copy of the same keys; the returned lookup runs one SELECT per
    key (after the same address and name normalisation the index does)."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE places (kind TEXT, id INTEGER, uprn TEXT, parent_uprn TEXT,"
        " usrn TEXT, house TEXT, postcode TEXT)"
    )
    db.execute("CREATE TABLE persons (order_id INTEGER, name TEXT, dob TEXT)")
    rows = [("scheme", s.id, s.location) for s in world.schemes]
    rows += [("order", o.id, loc) for o in world.orders for loc in o.locations]
    db.executemany(
        "INSERT INTO places VALUES (?,?,?,?,?,?,?)",
        (
            (
                kind,
                i,
                p.uprn,
                p.parent_uprn,
                p.usrn,
                address_parts(p.address).house,
                normalise_postcode(p.postcode),
            )
            for kind, i, p in rows
        ),
    )
    db.executemany(
        "INSERT INTO persons VALUES (?,?,?)",
        (
            (o.id, normalise_name(p.name), p.dob and p.dob.isoformat())
            for o in world.orders
            for p in (o.subject, *o.protected_persons)
        ),
    )
    for ddl in (
        "CREATE INDEX ix_uprn ON places (uprn)",
        "CREATE INDEX ix_parent ON places (parent_uprn)",
        "CREATE INDEX ix_usrn ON places (usrn, house)",
        "CREATE INDEX ix_house ON places (house, postcode)",
        "CREATE INDEX ix_name ON persons (name)",
    ):
        db.execute(ddl)

    def keyed(q: Place) -> Iterator[tuple[str, tuple[str, ...]]]:
        for uprn in (q.uprn, q.parent_uprn):
            if uprn:
                yield "uprn = ?", (uprn,)
                yield "parent_uprn = ?", (uprn,)
        house = address_parts(q.address).house if q.address else None
        postcode = normalise_postcode(q.postcode)
        if house and q.usrn:
            yield "usrn = ? AND house = ?", (q.usrn, house)
        if house and postcode:
            yield "house = ? AND postcode = ?", (house, postcode)

    def lookup(q: Place, people: list[Person]) -> set[tuple[str, int]]:
        found: set[tuple[str, int]] = set()
        for where, args in keyed(q):
            found.update(db.execute(f"SELECT kind, id FROM places WHERE {where}", args))
        for who in people:
            found.update(
                ("order", i)
                for (i,) in db.execute(
                    "SELECT order_id FROM persons WHERE name = ?", (normalise_name(who.name),)
                )
            )
        return found

    return lookup


# --- measuring ---------------------------------------------------------------------------------


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def per_lookup_us(
    fn: Callable[[Place, list[Person]], object],
    qs: list[tuple[str, Place, list[Person]]],
    seen: set[str | None] | None = None,
) -> dict[str, list[float]]:
    """Microseconds of each lookup, by kind of lookup, "all", and "new" (the lookups of an
    address without a postcode not asked about before in the run, or in any run before when
    ``seen`` is shared: they were the tail of the all-streets scans): wall-clock time under
    each key, and this thread's CPU time under "cpu <key>" (on a loaded machine the wall
    clock's tail is mostly the scheduler's: time spent waiting for a core)."""
    out: dict[str, list[float]] = {"all": [], "new": [], "cpu all": [], "cpu new": []}
    seen = set() if seen is None else seen
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for name, place, people in qs:
        new = not place.postcode and place.address not in seen
        seen.add(place.address)
        cpu_start = cpu_clock()
        start = clock()
        fn(place, people)
        us = (clock() - start) / 1000
        cpu_us = (cpu_clock() - cpu_start) / 1000
        for key in ("all", name, *(("new",) if new else ())):
            out.setdefault(key, []).append(us)
            out.setdefault(f"cpu {key}", []).append(cpu_us)
    return out


def _line(name: str, runs: list[dict[str, list[float]]], key: str) -> tuple[float, float]:
    """Wall-clock p50 / p99 (and the worst run's p99), then CPU-time p50 / p99."""
    p50 = statistics.median(percentile(r[key], 50) for r in runs)
    p99 = statistics.median(percentile(r[key], 99) for r in runs)
    worst = max(percentile(r[key], 99) for r in runs)
    cpu50 = statistics.median(percentile(r[f"cpu {key}"], 50) for r in runs)
    cpu99 = statistics.median(percentile(r[f"cpu {key}"], 99) for r in runs)
    print(
        f"  {name:<42} wall p50 {p50:7.1f} p99 {p99:7.1f} (worst {worst:7.1f})"
        f" | cpu p50 {cpu50:7.1f} p99 {cpu99:7.1f} us"
    )
    return p50, p99


def _build(world: World) -> WarningIndex:
    """The index, with its build time and memory printed."""
    index = WarningIndex()
    start = time.perf_counter()
    index.replace(world.schemes, world.orders)
    build_s = time.perf_counter() - start
    tracemalloc.start()
    traced = WarningIndex()  # a second one, traced: tracing slows the build down
    traced.replace(world.schemes, world.orders)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del traced
    print(
        f"  WarningIndex.replace: {build_s:.1f} s; the index holds {held / 2**20:.0f} MiB "
        f"(tracemalloc; peak while building {peak / 2**20:.0f} MiB; the models excluded)"
    )
    return index


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else N_EACH
    print(f"(d) warning lookups: {n:,} schemes + {n:,} orders, {LOOKUPS:,} lookups x {RUNS} runs")
    start = time.perf_counter()
    world = build_world(n)
    print(
        f"  generating the wire models: {time.perf_counter() - start:.1f} s "
        f"({len(world.streets):,} streets, {len(world.marked_blocks):,} blocks marked whole)"
    )
    index = _build(world)
    raw = sqlite_reference(world)
    if "--gc-freeze" in sys.argv:
        gc.freeze()
        print(f"  gc.freeze(): {gc.get_freeze_count():,} objects out of the collector's sight")
    index_runs, raw_runs, found = [], [], []
    seen: set[str | None] = set()
    kinds: Counter[str] = Counter()
    flags: Counter[tuple[str, str]] = Counter()

    def lookup(place: Place, people: list[Person]) -> None:
        warnings = index.lookup(place, people, NOW)
        # What the queue's flags read of each warning (IncidentWarnings._recompute): its
        # kind, the scheme's or order's id (warning_ref) and its severity; never the
        # scheme or order itself, which an index warning unpacks only when it is read.
        flags.update((w.kind, w.severity) for w in warnings if w.entity_id)
        found.append(len(warnings))
        kinds.update(w.match for w in warnings)

    for run in range(RUNS):
        qs = queries(world, LOOKUPS, seed=100 + run)
        raw_runs.append(per_lookup_us(raw, qs))
        index_runs.append(per_lookup_us(lookup, qs, seen))
    print(
        f"  warnings per lookup: mean {statistics.fmean(found):.2f}, max {max(found)}; "
        f"addresses without a postcode not asked about before: "
        f"{sum(len(r['new']) for r in index_runs):,} of {RUNS * LOOKUPS:,} lookups"
    )
    print(
        "  matches found: "
        + ", ".join(f"{kind} {n / len(found):.2f}" for kind, n in kinds.most_common())
        + " per lookup"
    )
    print("  medians over the runs of each run's percentiles:")
    _line("raw sqlite3, one SELECT per key (ref.)", raw_runs, "all")
    _, p99 = _line("WarningIndex.lookup", index_runs, "all")
    for name in MIX:
        _line(f"  {name}", index_runs, name)
    _, new99 = _line("  no postcode, address not asked before", index_runs, "new")
    cpu99 = statistics.median(percentile(r["cpu all"], 99) for r in index_runs)
    print(
        f"  index p99 = {p99:.1f} us wall, {cpu99:.1f} us CPU; {new99:.1f} us wall for "
        "addresses not asked before (target <= 100 us); "
        f"first run p99 {percentile(index_runs[0]['all'], 99):.1f} us wall"
    )


if __name__ == "__main__":
    main()
