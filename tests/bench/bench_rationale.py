"""Benchmark (e): the server's rationale check against 1,000,000 earlier rationales.

The store (``dispatchdesk.server.rationales``) is loaded with ``--rows`` rationales written the
way control rooms write them: closing rationales, downgrade and divert reasons, review notes
and scheme end reasons, built from some fifty phrases with made-up London addresses (some
1,300 streets),
people's names, callsigns, times, CAD references and crime numbers, spread over the last 24
months. Then, per run, ``--queries`` checks (``RationaleStore.problem``: the template rules,
the exact-copy lookup, the index and the exact comparison of every candidate) of a mix of
texts: a new rationale (most of them: accepted), a copy of a stored one with a word or two
changed (refused) and a stored one resent verbatim (refused). Beside it in the same run, a raw
indexed sqlite3 point lookup on the same database (``SELECT id FROM rationales WHERE
norm_hash = ?``). Also: the time to build the store and index, and the database's size; and
the check and record of an accepted text (rolled back). On PostgreSQL as well when
``DISPATCHDESK_TEST_PG_URL`` is set (in a schema of its own, dropped afterwards).
Target: check p99 <= 20 ms.

    uv run python -m tests.bench.bench_rationale [--rows N] [--queries Q] [--runs R]
        [--corpus templates|specific]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dispatchdesk.domain.rationale import normalise
from dispatchdesk.server.db import create_schema, make_engine, read_tx, write_tx
from dispatchdesk.server.rationales import Entity, RationaleRefused, RationaleStore, _hash
from dispatchdesk.server.simulation.london import BLOCK_NAMES, random_address
from tests.bench.bench_warnings import _STEMS, _SUFFIXES
from tests.bench.common import NOW, percentile

LOOKBACK = timedelta(days=730)
TZ = ZoneInfo("Europe/London")

FIRST = (
    "James",
    "Mohammed",
    "Oliver",
    "Aisha",
    "Sarah",
    "Daniel",
    "Chloe",
    "Tomasz",
    "Priya",
    "Kwame",
    "Emma",
    "Liam",
    "Fatima",
    "Grace",
    "Ryan",
    "Sophie",
    "Adebayo",
    "Hannah",
    "Marcus",
    "Zainab",
    "Connor",
    "Leah",
    "Ibrahim",
    "Megan",
    "Jack",
    "Amelia",
    "Yusuf",
    "Olivia",
    "Ethan",
    "Chantelle",
    "Dylan",
    "Maria",
    "Kieran",
    "Ava",
    "Samuel",
    "Nadia",
)
SURNAMES = (
    "Smith",
    "Jones",
    "Patel",
    "Okafor",
    "Williams",
    "Brown",
    "Khan",
    "Taylor",
    "Begum",
    "Kowalski",
    "Nguyen",
    "O'Brien",
    "Mensah",
    "Davies",
    "Evans",
    "Ahmed",
    "Wilson",
    "Thompson",
    "Ali",
    "Walker",
    "Hussain",
    "Robinson",
    "Wright",
    "Campbell",
    "Murphy",
    "Clarke",
    "Mitchell",
    "Osei",
    "Edwards",
    "Hughes",
    "Rahman",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Adeyemi",
    "Novak",
    "Singh",
    "Cooper",
    "Ward",
)
ROLES = (
    "the caller",
    "the informant",
    "the victim",
    "the suspect",
    "the ex-partner",
    "the neighbour",
    "the landlord",
    "the shop manager",
    "the security guard",
    "the mother",
    "the father",
    "the daughter",
    "the son",
    "a witness",
    "the driver",
)
TYPES = (
    "domestic",
    "burglary",
    "assault",
    "robbery",
    "theft",
    "criminal damage",
    "concern for welfare",
    "missing person",
    "ASB",
    "RTC",
    "shoplifting",
    "harassment",
    "breach of bail",
    "suspicious person",
    "noise nuisance",
    "vehicle crime",
)
OUTCOMES = (
    "arrested for {offence} and taken to {station}",
    "safeguarded and referred to the IDVA service",
    "spoken to separately, no offences disclosed",
    "given a crime number {crime} and victim care contact",
    "found safe and well at {address}",
    "left before police arrived, area search negative",
    "taken to hospital by LAS with a head injury, statement to follow",
    "reported to have gone to stay with family in {borough}",
    "issued a community protection warning",
    "given words of advice about the noise and the tenancy",
    "voluntarily attended {station} for interview",
    "circulated as wanted on PNC for {offence}",
    "returned the property, the owner does not support a prosecution",
    "identified on CCTV from the {place}, enquiries continue",
)
OFFENCES = (
    "common assault",
    "ABH",
    "burglary",
    "theft",
    "criminal damage",
    "breach of a non-molestation order",
    "harassment",
    "robbery",
    "possession of a bladed article",
    "drink driving",
    "public order",
    "breach of bail",
)
STATIONS = (
    "Brixton custody",
    "Lewisham custody",
    "Wembley custody",
    "Croydon custody",
    "Charing Cross custody",
    "Stoke Newington",
    "Walworth",
    "Holborn",
    "Kentish Town",
)
PLACES = ("shop", "bus", "station", "off-licence", "betting shop", "estate", "car park")
CHECKS = (
    "PNC and previous calls at the address checked",
    "DASH completed as {risk} risk",
    "body-worn video recorded throughout",
    "children at the address seen and spoken to",
    "neighbours at numbers {n1} and {n2} spoken to",
    "statement taken from {role}",
    "CCTV requested from the {place}",
    "house-to-house done in {street}",
    "{callsign} attended at {time} and stayed until {time2}",
    "CAD {ref} linked as the same family",
    "{first} {surname} ({age}) seen and spoken to",
    "scene photographed and forensics requested",
    "MERLIN submitted for the children",
    "crime report {crime} raised",
    "next of kin informed at {time}",
    "vehicle {plate} checked on ANPR",
    "no injuries seen, LAS not needed",
    "informant called back at {time}, no answer",
)
DIVERTS = (
    "{callsign} was the nearest unit to an I-grade {type} at {address}",
    "only unit able to reach the I-grade {type} at {address} inside the target",
    "I-grade {type} at {address} with risk to life, {ref} can wait for {callsign2}",
    "{callsign} diverted: knife seen at {address}, {ref} is a {type} with no risk now",
)
REVIEWS = (
    "Divert right: {type} at {address} had a knife seen; {ref} should have had {callsign2} "
    "sent within {n1} minutes",
    "Divert justified, but {ref} waited {n1} minutes with no unit, raised with the {shift} "
    "shift sergeant",
    "Not justified: {callsign2} was free {n1} minutes away from {address}",
)
SCHEME_ENDS = (
    "{first} {surname} moved to a refuge in {borough} on {day}, the OIC agreed",
    "Perpetrator {first} {surname} remanded at {station} until trial, victim told on {day}",
    "Victim asked for the marker to be removed, spoken to by PC {surname} on {day}",
)
DOWNGRADES = (
    "{role} called back at {time}: {first} has left and the door is locked, no injuries",
    "Suspect detained by security at the {place}, no threat now, {ref} can wait",
    "Caller confirmed by phone at {time} that {first} {surname} is home and safe",
    "Damage only at {address}, nobody hurt, appointment offered for {day}",
)
SHIFTS = ("early", "late", "night")


#: What a specific rationale adds (``--corpus specific``): who was there, when, what was found.
SPECIFICS = (
    "{first} {surname} ({age}) was there when {callsign} arrived at {time}",
    "{role} said {first} had been drinking since {time}",
    "{first} {surname} showed officers a message sent at {time}",
    "{n1} minutes on scene; {role} is {first} {surname}, {age}",
    "crime {crime}; {first} {surname} ({age}) to be interviewed by {callsign}",
    "vehicle {plate} seen leaving {street} at {time}",
)


class Writer:
    """Realistic rationales from one seed. ``specific``: every text also names who was there,
    when or what was found (as real ones do), not only a template's few slots."""

    def __init__(self, seed: int, specific: bool = False) -> None:
        self.rng = random.Random(seed)
        self.specific = specific

    def _fill(self, template: str) -> str:
        r = self.rng
        start = r.randint(0, 24 * 60 - 1)
        end = start + r.randint(10, 200)
        return template.format(
            offence=r.choice(OFFENCES),
            station=r.choice(STATIONS),
            crime=f"{r.randint(1, 9)}{r.randint(1000000, 9999999)}/25",
            address=self._address(),
            borough=random_address(r).borough,
            place=r.choice(PLACES),
            risk=r.choice(("standard", "medium", "high")),
            n1=r.randint(1, 99),
            n2=r.randint(100, 199),
            role=r.choice(ROLES),
            street=self._address().split(", ")[-1].lstrip("0123456789 "),
            callsign=self._callsign(),
            callsign2=self._callsign(),
            time=f"{start // 60:02d}:{start % 60:02d}",
            time2=f"{end // 60 % 24:02d}:{end % 60:02d}",
            ref=self._ref(),
            first=r.choice(FIRST),
            surname=r.choice(SURNAMES),
            age=r.randint(2, 90),
            plate=f"{r.choice('ABLMYK')}{r.choice('ABDEFGKLN')}{r.randint(10, 74)} "
            f"{''.join(r.choices('ABCDEFGHJKLMNPRSTUVWXYZ', k=3))}",
            type=r.choice(TYPES),
            shift=r.choice(SHIFTS),
            day=f"{r.randint(1, 28)} {r.choice(('Jan', 'Mar', 'Jun'))}",
        )

    def _address(self) -> str:
        """A house or a flat: mostly on one of some 1,300 made-up streets (London has tens of
        thousands), sometimes on one of the demo's 64 London streets."""
        r = self.rng
        if r.random() < 0.15:
            return random_address(r).address.removesuffix(", London")
        street = f"{r.randint(1, 300)} {r.choice(_STEMS)} {r.choice(_SUFFIXES)}"
        if r.random() < 0.3:
            return f"Flat {r.randint(1, 40)}, {r.choice(BLOCK_NAMES)}, {street}"
        return street

    def _callsign(self) -> str:
        prefix = self.rng.choice(("LX", "CW", "HT", "PL", "KD", "SX", "QK"))
        return f"{prefix}{self.rng.randint(11, 99)}"

    def _ref(self) -> str:
        day = NOW - timedelta(days=self.rng.randint(0, 729))
        return f"CAD {self.rng.randint(1, 9999):04d}/{day:%d%b%y}".upper()

    def text(self, kind: str) -> str:
        text = self._text(kind)
        if self.specific:
            text = f"{text.rstrip('.')}; {self._fill(self.rng.choice(SPECIFICS))}."
        return text

    def _text(self, kind: str) -> str:
        r = self.rng
        if kind == "close":
            checks = "; ".join(self._fill(c) for c in r.sample(CHECKS, r.randint(1, 3)))
            return (
                f"Attended {self._address()} "
                f"({r.choice(TYPES)}): {r.choice(ROLES)} {self._fill(r.choice(OUTCOMES))}; "
                f"{checks}."
            )
        if kind == "downgrade":
            return self._fill(r.choice(DOWNGRADES))
        if kind == "divert":
            return self._fill(r.choice(DIVERTS))
        if kind == "divert_review":
            return self._fill(r.choice(REVIEWS))
        return self._fill(r.choice(SCHEME_ENDS))

    def kind(self) -> str:
        return self.rng.choices(
            ("close", "downgrade", "divert", "divert_review", "scheme_end"),
            weights=(80, 10, 5, 3, 2),
        )[0]

    def near_copy(self, text: str) -> str:
        """``text`` with one word changed (still at least 0.9 similar when it is long)."""
        words = text.split()
        i = self.rng.randrange(len(words))
        words[i] = self.rng.choice(("the", "and", "then", "also"))
        return " ".join(words)


def rows(n: int, writer: Writer, keep: list[str], keep_every: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        kind = writer.kind()
        text = writer.text(kind)
        if i % keep_every == 0:
            keep.append(text)
        yield {
            "at": NOW - timedelta(seconds=writer.rng.uniform(0, LOOKBACK.total_seconds())),
            "kind": kind,
            "text": text,
            "incident_id": i + 1,
            "incident_ref": f"CAD {i + 1}",
        }


def queries(writer: Writer, kept: list[str], n: int) -> list[tuple[str, str]]:
    """(label, text): 80% new rationales, 15% near copies, 5% verbatim copies."""
    out = []
    for _ in range(n):
        roll = writer.rng.random()
        if roll < 0.80:
            out.append(("new", writer.text(writer.kind())))
        elif roll < 0.95:
            out.append(("near copy", writer.near_copy(writer.rng.choice(kept))))
        else:
            out.append(("copy", writer.rng.choice(kept)))
    return out


def summary(name: str, samples: list[float]) -> str:
    return (
        f"  {name:<40} p50 {percentile(samples, 50):7.2f} ms   p99 "
        f"{percentile(samples, 99):7.2f} ms   max {max(samples):7.2f} ms  (n={len(samples)})"
    )


def measure(
    engine: Engine,
    store: RationaleStore,
    writer: Writer,
    kept: list[str],
    n_queries: int,
    runs: int,
    reference: Callable[[str], object] | None,
) -> None:
    p99s, p50s, refused_share = [], [], []
    for run in range(runs):
        batch = queries(writer, kept, n_queries)
        samples: dict[str, list[float]] = {}
        refused = 0
        with read_tx(engine) as conn:
            for label, text in batch:
                start = time.perf_counter()
                problem = store.problem(
                    conn,
                    NOW,
                    text,
                    kind="close",
                    what="closing rationale",
                    entity=Entity(0, "CAD 0000/23NOV26"),
                )
                elapsed = (time.perf_counter() - start) * 1000
                samples.setdefault(label, []).append(elapsed)
                samples.setdefault("all", []).append(elapsed)
                refused += problem is not None
        p99s.append(percentile(samples["all"], 99))
        p50s.append(percentile(samples["all"], 50))
        refused_share.append(refused / len(batch))
        print(f" run {run + 1}: refused {refused} of {len(batch)}")
        for label in ("all", "new", "near copy", "copy"):
            if label in samples:
                print(summary(f"check ({label})", samples[label]))
        if reference is not None:
            ref = []
            for _label, text in batch:
                start = time.perf_counter()
                reference(text)
                ref.append((time.perf_counter() - start) * 1000)
            print(summary("reference: raw sqlite3 point lookup", ref))
    print(
        f" check over {runs} runs: median p50 {statistics.median(p50s):.2f} ms, median p99 "
        f"{statistics.median(p99s):.2f} ms (target <= 20 ms), worst p99 {max(p99s):.2f} ms"
    )
    # check and record of accepted texts, rolled back so every run sees the same store
    recorded = []
    with engine.connect() as conn:
        for _ in range(200):
            text = writer.text("close")
            tx = conn.begin()
            start = time.perf_counter()
            try:
                store.check_and_record(
                    conn,
                    NOW,
                    text,
                    kind="close",
                    what="closing rationale",
                    entity=Entity(0, "CAD 0000/23NOV26"),
                )
            except RationaleRefused:
                tx.rollback()
                continue  # a new text that happened to copy a stored one: not recorded
            recorded.append((time.perf_counter() - start) * 1000)
            tx.rollback()
    print(summary("check and record an accepted text", recorded))


def build(engine: Engine, store: RationaleStore, n: int, writer: Writer, kept: list[str]) -> float:
    start = time.perf_counter()
    with write_tx(engine) as conn:
        store.bulk_load(conn, rows(n, writer, kept, keep_every=max(1, n // 20_000)))
    return time.perf_counter() - start


def bench_sqlite(n: int, n_queries: int, runs: int, specific: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "server.db"
        engine = make_engine(f"sqlite:///{path}")
        create_schema(engine)
        store = RationaleStore(engine, LOOKBACK, TZ)
        writer = Writer(1, specific)
        kept: list[str] = []
        seconds = build(engine, store, n, writer, kept)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        size = path.stat().st_size
        print(
            f"SQLite: {n:,} rationales loaded and indexed in {seconds:.1f} s; database "
            f"{size / 1e6:.0f} MB ({size / max(n, 1):.0f} bytes per rationale)"
        )
        raw = sqlite3.connect(path)

        def point(text: str) -> object:
            return raw.execute(
                "SELECT id FROM rationales WHERE norm_hash = ?", (_hash(normalise(text)),)
            ).fetchall()

        measure(engine, store, writer, kept, n_queries, runs, point)
        raw.close()
        engine.dispose()


def bench_postgres(url: str, n: int, n_queries: int, runs: int, specific: bool) -> None:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        engine = make_engine(
            sa.make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
        create_schema(engine)
        store = RationaleStore(engine, LOOKBACK, TZ)
        writer = Writer(1, specific)
        kept: list[str] = []
        seconds = build(engine, store, n, writer, kept)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            size = conn.exec_driver_sql(
                "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace s "
                f"ON s.oid = c.relnamespace WHERE s.nspname = '{schema}' AND c.relkind = 'r'"
            ).scalar_one()
        print(
            f"PostgreSQL: {n:,} rationales loaded and indexed in {seconds:.1f} s; schema "
            f"{int(size) / 1e6:.0f} MB"
        )
        measure(engine, store, writer, kept, n_queries, runs, None)
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--corpus",
        choices=("templates", "specific"),
        default="templates",
        help="templates: texts from the templates alone (formulaic: short kinds have few "
        "slots, and about 13%% of the new texts copy a stored one); specific: each text also "
        "says who was there, when or what was found",
    )
    args = parser.parse_args()
    specific = args.corpus == "specific"
    sample = Writer(7, specific)
    print("Sample rationales:")
    for kind in ("close", "downgrade", "divert", "divert_review", "scheme_end"):
        print(f"  [{kind}] {sample.text(kind)}")
    bench_sqlite(args.rows, args.queries, args.runs, specific)
    url = os.environ.get("DISPATCHDESK_TEST_PG_URL")
    if url:
        bench_postgres(url, args.rows, args.queries, args.runs, specific)


if __name__ == "__main__":
    main()
