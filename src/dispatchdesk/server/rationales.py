"""Every rationale and reason the server accepted in the last ``settings.rationale_lookback``
(24 months by default), and the check that refuses a new one copying any of them.

What is checked: a closing rationale (also a supervisor's close of an owed incident), a
downgrade reason, a divert reason, a divert's review note, a scheme's end reason (and any other
reason a command calls :meth:`RationaleStore.check_and_record` for). All kinds share one
lookback: a divert reason copied from a closing rationale is refused as well. A text is first
held to the desk's own rules (:func:`~dispatchdesk.domain.rationale.rationale_problem`: long
enough, not a stock phrase), then compared with every earlier one in the window by the same
word-level similarity (:func:`~dispatchdesk.domain.rationale.similarity`, at least 0.9). An
earlier text recorded for the same incident does not count as a copy, except for a divert
review, which must be the supervisor's own words.

The comparison is exact, not sampled, and stays fast with an index (*prefix filtering* with a
*positional filter*, as in PPJoin):

* A text is normalised and split into ``n`` words; each word is tagged with its occurrence
  (``the#1``, ``the#2``), so the multiset overlap of two texts is the overlap of these sets.
* difflib's ratio is ``2·M / (n + m)`` where ``M``, the matched words, is at most the overlap
  ``o``; and ``real_quick_ratio`` (``2·min(n, m) / (n + m)``) must reach 0.9 too, so a text
  of ``m`` words at least 0.9 similar to one of ``n`` has ``9n/11 <= m <= 11n/9`` and
  ``o >= o_min = ceil(9(n + m)/20)``.
* Every text's tagged words are put in one fixed global order, rare first: by the rank a
  bulk load measured (how many texts held the word; :data:`rationale_word_ranks`), a word
  not measured ranking 0, or last when it is in the built-in list of common English and
  police words; ties by a stable 64-bit hash. The ranks are only ever written into an empty
  store (a backfill, or a rebuild at start-up once the store has grown fourfold).
* Take the first two words ``c1``, ``c2`` (in that order) two similar texts share: before
  ``c2`` stand at most ``n - o_min`` unshared words and ``c1``, so ``c2`` is at position
  ``i <= n - o_min + 1`` in one and ``j <= m - o_min + 1`` in the other. So each text stores,
  in ``rationale_tokens``, every *pair* of its first ``m - ceil(9m/11) + 2`` words (a hash of
  the two words, and the later one's position), and a check looks up the pairs of its own
  first ``n - ceil(9n/11) + 2`` words, keeping the rows whose lengths and positions satisfy
  both bounds: one query. (A pair is far rarer than either of its words, so this reads a few
  rows where single words read thousands: profiled at 200,000 texts.) A one-word text is
  similar only to itself.
* Texts of one template whose template words come first in the order share their prefix
  pairs, so a check can meet a thousand candidates. Each index row therefore also holds its
  text's 64-bit *signature* (bit ``h & 63`` of each tagged word's hash): the shared words
  set bits of ``a & b``, and at most ``n - popcount(a)`` of them fall on a bit another of
  the text's words took, so ``popcount(a & b) + min(n - popcount(a), m - popcount(b))``
  bounds the overlap from above (:func:`overlap_bound`) and most candidates are refused
  from the index rows alone, without reading their texts (profiled: p99 10 ms down to 3 ms
  at 200,000 texts, 26 ms down to 16 ms at 1,000,000). The rest have their overlap
  counted from their stored word hashes, then are compared with the exact similarity. A
  hash collision can only add a candidate, never lose one; the order only decides how
  fast, never what is found.
* The index's format is kept in ``rationale_order.index_format``
  (:data:`INDEX_FORMAT`); a store indexed otherwise (by an earlier version) is rebuilt at
  start-up.
* An exact copy is found first by the hash of the normalised text.

Rows older than the lookback are ignored by every query and pruned a few at a time as new
ones are recorded, so the index holds about the lookback's worth.

Scheme texts never enter this store: for a scheme end, only the scheme's id and the reason
the supervisor typed.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dispatchdesk.domain.rationale import normalise, rationale_problem, similarity
from dispatchdesk.server import changelog
from dispatchdesk.server.db import UTCDateTime, diverts, incidents, metadata, read_tx, write_tx

_T = TypeVar("_T")

#: The kinds of text recorded; every kind is compared with every other.
KINDS = (
    "close",
    "owed_close",
    "downgrade",
    "divert",
    "withdrawal",
    "divert_review",
    "scheme_end",
    "link_remove",
)

#: How a refusal names what was copied, by kind.
_WHAT = {
    "close": "the closing rationale of {ref}",
    "owed_close": "the supervisor's closing rationale of owed incident {ref}",
    "downgrade": "the downgrade reason of {ref}",
    "divert": "the reason for diverting {unit} away from {ref}",
    "withdrawal": "the reason for withdrawing {unit} from {ref}",
    "divert_review": "the review note of the divert of {unit} from {ref}",
    "scheme_end": "the reason special scheme {scheme} was ended",
}

rationales = sa.Table(
    "rationales",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("by", sa.String(100)),
    #: The entity the text was given for (no foreign keys: a record outlives nothing it names).
    sa.Column("incident_id", sa.Integer),
    sa.Column("incident_ref", sa.String(40)),
    sa.Column("unit_callsign", sa.String(12)),
    sa.Column("divert_id", sa.Integer),
    sa.Column("scheme_id", sa.Integer),
    sa.Column("text", sa.Text, nullable=False),
    #: Hash of the normalised text, for an exact copy.
    sa.Column("norm_hash", sa.BigInteger, nullable=False, index=True),
    sa.Column("n_tokens", sa.Integer, nullable=False),
    #: The text's tagged words as 32-bit hashes (``array('i')``): a candidate's overlap with a
    #: new text is counted from these before the exact comparison.
    sa.Column("words", sa.LargeBinary),
)

#: The index: a text's first tagged words in the global order, with their positions.
rationale_tokens = sa.Table(
    "rationale_tokens",
    metadata,
    sa.Column("token", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("n_tokens", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("rationale_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("pos", sa.Integer, nullable=False),
    #: The text's :func:`signature` (none: written in an earlier format), so most candidates
    #: are refused from the index row alone, without reading the text's row.
    sa.Column("sig", sa.BigInteger),
    sqlite_with_rowid=False,
)

#: The global order's ranks of frequent tagged words, measured when the store was loaded in
#: bulk (``rank`` = how many texts held the word); a word not here ranks 0 (rare), or last
#: when it is in :data:`COMMON_WORDS`. Written only into an empty store, so no stored prefix
#: ever follows another order; ``rationale_order.generation`` tells servers to re-read it.
rationale_word_ranks = sa.Table(
    "rationale_word_ranks",
    metadata,
    sa.Column("token", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("rank", sa.Integer, nullable=False),
)

rationale_order = sa.Table(
    "rationale_order",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("generation", sa.Integer, nullable=False),
    #: How many texts the ranks were measured on.
    sa.Column("measured_on", sa.Integer),
    #: :data:`INDEX_FORMAT` of the stored prefixes (none: written before the column, format 1).
    sa.Column("index_format", sa.Integer),
)

#: How many words of their prefixes two similar texts share (the prefixes are this much
#: longer than the one a single shared word needs): a candidate must share that many.
PREFIX_SHARED = 2
#: The index's format (``rationale_order.index_format``); a store of another format is rebuilt
#: at start-up. 1 (or none): prefixes sharing one word; 2: :data:`PREFIX_SHARED` words; 3: the
#: index rows also hold the text's :func:`signature`.
INDEX_FORMAT = 3

#: A word held by at least this many texts of a bulk load gets its own rank.
RANK_MIN = 20
#: At start-up the order is measured again (the store rebuilt) once it holds this many times
#: the texts it was measured on, and at least :data:`REMEASURE_MIN`.
REMEASURE_FACTOR = 4
REMEASURE_MIN = 5_000
#: The rank of a built-in common word the bulk load did not measure.
_LAST = 2**31 - 1

#: Rows past the lookback pruned per recorded text (amortised; queries ignore them anyway).
PRUNE_BATCH = 20

#: Words pushed to the end of the global order: common in English and in police writing. Any
#: list gives exact results; a word missing here that is common in practice only costs time.
_COMMON = """
a about above across after again against all also am an and any are around as asked at away
back be because been before being below between both but by called came can cannot could
day did do does done down during each either else ever every few for found from further
gave get given go going gone good got had has have he her here hers herself him himself his
home how i if in into is it its itself just know last later left like made make man may me
more most much must my near need needed new next no nor not now of off on once one only or
other our out over own party people please put rather re reported s said same saw say see
seen she should since so some still such t than that the their them then there these they
this those through time to told too two under until up upon us very was way we well went
were what when where which while who whom why will with within without would yes yet you
your yours
abh address advice advised advise alarm all ambulance anpr anti arrest arrested arrived asb
assault assessment attend attendance attended attending bail bwv body bodyworn cad call
caller calls camera car cctv check checked checks child children complete completed
concern contact crime criminal custody damage dash detained disclosed dispute divert
diverted domestic door driver emergency enquiries ex family female force further grade
harassment hospital house husband i idva incident informant informed injuries injury
intelligence interview investigation kin las left location male merlin met mental mother
neighbour neighbours number numbers offence offences officer officers oic parties partner
pc pnc police premises previous property protection public raised record recorded
referred refused report reporting request requested resolved risk robbery safe safeguarded
safeguarding scene search searched security seen separated service shop spoken standard
statement station stolen street suspect theft threat threats unit units vehicle victim
video welfare wife witness witnesses woman words worn
road lane avenue flat court house close way gardens drive place hill park high
"""
COMMON_WORDS = frozenset(_COMMON.split())


def _hash(value: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(value.encode(), digest_size=8).digest(), "big", signed=True
    )


def tagged_words(norm: str) -> list[str]:
    """The words of a normalised text, each tagged with its occurrence (``the#2``)."""
    seen: Counter[str] = Counter()
    out = []
    for word in norm.split():
        seen[word] += 1
        out.append(f"{word}#{seen[word]}")
    return out


def ordered(norm: str, ranks: Mapping[int, int]) -> list[int]:
    """The hashes of a normalised text's tagged words, without repeats, in the global order:
    by rank (rare first; see :data:`rationale_word_ranks`), then by hash."""
    keyed = {}
    for tagged in tagged_words(norm):
        h = _hash(tagged)
        rank = ranks.get(h)
        if rank is None:
            word = tagged.rsplit("#", 1)[0]
            rank = _LAST if word in COMMON_WORDS else 0
        keyed[h] = (rank, h)
    return sorted(keyed, key=keyed.__getitem__)


def word_set(norm: str) -> bytes:
    """The 32-bit hashes of a normalised text's tagged words, for :data:`rationales`.words."""
    return array("i", sorted({_hash(w) >> 32 for w in tagged_words(norm)})).tobytes()


def signature(hashes: Iterable[int]) -> int:
    """A text's 64-bit signature (signed, as stored) from its tagged words' hashes: bit
    ``h & 63`` set for each. Two texts of ``n`` and ``m`` tagged words with signatures ``a``
    and ``b`` share at most :func:`overlap_bound` of them."""
    bits = 0
    for h in hashes:
        bits |= 1 << (h & 63)
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def overlap_bound(a: int, n: int, b: int, m: int) -> int:
    """An upper bound of the tagged words shared by texts of ``n`` and ``m`` tagged words with
    signatures ``a`` and ``b``: the shared words set bits of ``a & b``, and at most
    ``n - popcount(a)`` of them (the words of the first text that share a bit with another of
    its words) land on a bit already taken, likewise ``m - popcount(b)``."""
    a &= 0xFFFF_FFFF_FFFF_FFFF
    b &= 0xFFFF_FFFF_FFFF_FFFF
    return (a & b).bit_count() + min(n - a.bit_count(), m - b.bit_count())


def prefix_length(n: int) -> int:
    """How many of its first words (in the global order) a text of ``n`` words is found by:
    enough that a similar text shares :data:`PREFIX_SHARED` of them."""
    return min(n, n - (9 * n + 10) // 11 + PREFIX_SHARED)


def min_overlap(n: int) -> int:
    """Tagged words a text of ``n`` words shares with any text at least 0.9 similar to it."""
    return (9 * n + 10) // 11


def length_range(n: int) -> tuple[int, int]:
    """Word counts a text at least 0.9 similar to one of ``n`` words can have."""
    return (9 * n + 10) // 11, (11 * n) // 9


@dataclass(frozen=True, slots=True)
class Entity:
    """What a text was given for. ``incident_id`` also decides what is not a copy: an earlier
    text for the same incident (other than a divert review)."""

    incident_id: int | None = None
    incident_ref: str | None = None
    unit_callsign: str | None = None
    divert_id: int | None = None
    scheme_id: int | None = None


@dataclass(frozen=True, slots=True)
class Copy:
    """An earlier text the new one copies."""

    id: int
    kind: str
    at: datetime
    ratio: float
    entity: Entity


class RationaleRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RationaleStore:
    """The store over one database; ``lookback`` and ``tz`` are server policy."""

    def __init__(self, engine: Engine, lookback: timedelta, tz: ZoneInfo) -> None:
        self.engine = engine
        self.lookback = lookback
        self.tz = tz
        self.rank_min = RANK_MIN
        self._ranks: dict[int, int] = {}
        self._generation = 0

    def ranks(self, conn: Connection) -> dict[int, int]:
        """The global order's ranks, re-read when a bulk load (maybe by another server) has
        set new ones."""
        generation = (
            conn.execute(
                sa.select(rationale_order.c.generation).where(rationale_order.c.id == 1)
            ).scalar()
            or 0
        )
        if generation != self._generation:
            self._ranks = {
                int(t): int(r)
                for t, r in conn.execute(
                    sa.select(rationale_word_ranks.c.token, rationale_word_ranks.c.rank)
                )
            }
            self._generation = generation
        return self._ranks

    # --- the check ---------------------------------------------------------------------------

    def problem(
        self,
        conn: Connection,
        now: datetime,
        text: str,
        *,
        kind: str,
        what: str,
        entity: Entity = Entity(),
    ) -> str | None:
        """``None`` when ``text`` may be accepted, else the sentence refusing it."""
        problem = rationale_problem(text, (), what=what)
        if problem is not None:
            return problem
        found = self.find_copy(conn, now, normalise(text), kind=kind, entity=entity)
        if found is None:
            return None
        return (
            f"The {what} is almost the same as {self.describe(found)}. "
            f"Write a {what} specific to this {_subject(kind)}, in your own words."
        )

    def describe(self, found: Copy) -> str:
        e = found.entity
        named = _WHAT.get(found.kind, "a {ref} rationale").format(
            ref=e.incident_ref or "another incident",
            unit=e.unit_callsign or "a unit",
            scheme=e.scheme_id if e.scheme_id is not None else "",
        )
        day = found.at.astimezone(self.tz)
        percent = "identical" if found.ratio >= 1.0 else f"{int(found.ratio * 100)}% similar"
        return f"{named} on {day.day} {day:%b %Y} ({percent})"

    def find_copy(
        self,
        conn: Connection,
        now: datetime,
        norm: str,
        *,
        kind: str = "close",
        entity: Entity = Entity(),
    ) -> Copy | None:
        """The most similar earlier text of the lookback (most recent on a tie), or None."""
        since = now - self.lookback
        words = norm.split()
        n = len(words)
        if n == 0:
            return None
        exact = conn.execute(
            sa.select(rationales)
            .where(rationales.c.norm_hash == _hash(norm), rationales.c.at >= since)
            .order_by(rationales.c.at.desc())
        ).all()
        for row in exact:
            if normalise(row.text) == norm and not _same_incident(row, kind, entity):
                return _copy(row, 1.0)
        if n < PREFIX_SHARED:  # a one-word text is similar only to itself (found above)
            return None
        # A similar text of m words shares at least 9(n + m)/20 tagged words: count them from
        # the stored hashes (a collision only adds one) before comparing the words themselves.
        mine = set(array("i", word_set(norm)))
        best: Copy | None = None
        for chunk in _chunks(self._candidates(conn, norm, n), 500):
            rows = conn.execute(
                sa.select(rationales).where(rationales.c.id.in_(chunk), rationales.c.at >= since)
            ).all()
            for row in rows:
                if _same_incident(row, kind, entity):
                    continue
                if row.words is not None and 20 * len(
                    mine.intersection(array("i", row.words))
                ) < 9 * (n + row.n_tokens):
                    continue
                ratio = similarity(norm, normalise(row.text))
                if ratio and (best is None or (ratio, row.at) > (best.ratio, best.at)):
                    best = _copy(row, ratio)
        return best

    def _candidates(self, conn: Connection, norm: str, n: int) -> list[int]:
        """The ids of the texts whose prefixes share a pair of words, the later at positions
        that leave room for ``o_min`` shared words in both, and whose signatures allow that
        many (a superset of every similar text); one query, reading the index only."""
        order = ordered(norm, self.ranks(conn))
        prefix = order[: prefix_length(n)]
        mine = signature(order)
        lo, hi = length_range(n)
        by_position: dict[int, list[int]] = {}
        for i, pair in _pairs(prefix):
            by_position.setdefault(i, []).append(pair)
        terms = []
        for i, pairs in by_position.items():
            # i <= n - o_min(m) + 1, that is 9(n + m) <= 20(n - i + 1): the longest m allowed
            longest = min(hi, 20 * (n - i + 1) // 9 - n)
            if longest >= lo:
                terms.append(
                    f"(t.token IN ({', '.join(map(str, pairs))}) "
                    f"AND t.n_tokens BETWEEN {lo} AND {longest})"
                )
        if not terms:
            return []
        # Written out (every value an int computed here): building it with SQLAlchemy's
        # expressions cost more than running it.
        query = (
            f"SELECT t.rationale_id, t.n_tokens, t.sig FROM {rationale_tokens.name} t "
            f"WHERE ({' OR '.join(terms)}) "
            f"AND 9 * ({n} + t.n_tokens) <= 20 * (t.n_tokens - t.pos + 1)"  # j <= m - o_min + 1
        )
        # read from the driver's cursor: a row object per candidate cost more than the row
        found: dict[int, None] = {}
        for rid, m, sig in conn.exec_driver_sql(query).cursor.fetchall():
            if sig is None or 20 * overlap_bound(mine, n, sig, m) >= 9 * (n + m):
                found[int(rid)] = None
        return list(found)

    # --- recording -------------------------------------------------------------------------

    def record(
        self,
        conn: Connection,
        now: datetime,
        text: str,
        *,
        kind: str,
        entity: Entity = Entity(),
        by: str | None = None,
    ) -> int:
        """Store an accepted text in the caller's transaction; prunes a few expired ones."""
        if kind not in KINDS:
            raise ValueError(f"unknown rationale kind {kind!r}")
        norm = normalise(text)
        new_id = int(
            conn.execute(
                rationales.insert()
                .values(
                    at=now,
                    kind=kind,
                    by=by,
                    text=text,
                    norm_hash=_hash(norm),
                    n_tokens=len(norm.split()),
                    words=word_set(norm),
                    **_entity_values(entity),
                )
                .returning(rationales.c.id)
            ).scalar_one()
        )
        postings = _postings(norm, new_id, self.ranks(conn))
        if postings:
            conn.execute(rationale_tokens.insert(), postings)
        self.prune(conn, now, PRUNE_BATCH)
        return new_id

    def check_and_record(
        self,
        conn: Connection,
        now: datetime,
        text: str,
        *,
        kind: str,
        what: str,
        entity: Entity = Entity(),
        by: str | None = None,
    ) -> None:
        """Refuse ``text`` (:class:`RationaleRefused`) when it is too short, a stock phrase or
        a copy of an earlier text of the lookback; otherwise record it, in the caller's
        transaction (so it is stored exactly when the command that accepted it commits)."""
        problem = self.problem(conn, now, text, kind=kind, what=what, entity=entity)
        if problem is not None:
            raise RationaleRefused(problem)
        self.record(conn, now, text, kind=kind, entity=entity, by=by)

    def prune(self, conn: Connection, now: datetime, limit: int) -> int:
        """Drop up to ``limit`` texts older than the lookback, with their index rows."""
        old = conn.execute(
            sa.select(rationales.c.id, rationales.c.text, rationales.c.n_tokens)
            .where(rationales.c.at < now - self.lookback)
            .order_by(rationales.c.at)
            .limit(limit)
        ).all()
        for row in old:
            tokens = [p["token"] for p in _postings(normalise(row.text), row.id, self.ranks(conn))]
            if tokens:
                conn.execute(
                    rationale_tokens.delete().where(
                        rationale_tokens.c.token.in_(tokens),
                        rationale_tokens.c.n_tokens == row.n_tokens,
                        rationale_tokens.c.rationale_id == row.id,
                    )
                )
            conn.execute(rationales.delete().where(rationales.c.id == row.id))
        return len(old)

    # --- bulk load and the existing database ----------------------------------------------------

    def bulk_load(
        self, conn: Connection, rows: Iterable[dict[str, Any]], batch: int = 20_000
    ) -> int:
        """Load many texts (dicts with ``at``, ``kind``, ``text`` and entity columns) into an
        *empty* store: the texts, then the global order measured on them (each frequent
        word's rank), then the index in that order; returns how many."""
        if conn.execute(sa.select(rationales.c.id).limit(1)).first() is not None:
            raise ValueError("a bulk load needs an empty rationale store")
        is_pg = conn.dialect.name == "postgresql"
        next_id = 1
        held: Counter[int] = Counter()
        for chunk in _chunks(rows, batch):
            texts: list[dict[str, Any]] = []
            for r in chunk:
                norm = normalise(r["text"])
                held.update({_hash(w) for w in tagged_words(norm)})
                texts.append(
                    {
                        "id": next_id,
                        "at": r["at"],
                        "kind": r["kind"],
                        "by": r.get("by"),
                        "text": r["text"],
                        "norm_hash": _hash(norm),
                        "n_tokens": len(norm.split()),
                        "words": word_set(norm),
                        **{c: r.get(c) for c in _ENTITY_COLUMNS},
                    }
                )
                next_id += 1
            conn.execute(rationales.insert(), texts)
        ranks = {h: c for h, c in held.items() if c >= self.rank_min}
        del held
        conn.execute(rationale_word_ranks.delete())
        for part in _chunks(ranks.items(), batch):
            conn.execute(rationale_word_ranks.insert(), [{"token": h, "rank": c} for h, c in part])
        generation = (
            conn.execute(
                sa.select(rationale_order.c.generation).where(rationale_order.c.id == 1)
            ).scalar()
            or 0
        ) + 1
        conn.execute(rationale_order.delete())
        conn.execute(
            rationale_order.insert().values(
                id=1,
                generation=generation,
                measured_on=next_id - 1,
                index_format=INDEX_FORMAT,
            )
        )
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE rationale_tokens_load (token BIGINT NOT NULL, "
            "n_tokens INTEGER NOT NULL, rationale_id INTEGER NOT NULL, pos INTEGER NOT NULL, "
            "sig BIGINT)"
        )
        load = sa.table(
            "rationale_tokens_load",
            sa.column("token"),
            sa.column("n_tokens"),
            sa.column("rationale_id"),
            sa.column("pos"),
            sa.column("sig"),
        )
        last = 0
        while True:
            page = conn.execute(
                sa.select(rationales.c.id, rationales.c.text)
                .where(rationales.c.id > last)
                .order_by(rationales.c.id)
                .limit(batch)
            ).all()
            if not page:
                break
            postings: list[dict[str, Any]] = []
            for rid, text in page:
                postings.extend(_postings(normalise(text), rid, ranks))
            if postings:  # a page of one-word texts has no pairs to index
                conn.execute(load.insert(), postings)
            last = page[-1][0]
        conn.exec_driver_sql(
            "INSERT INTO rationale_tokens (token, n_tokens, rationale_id, pos, sig) "
            "SELECT token, n_tokens, rationale_id, pos, sig FROM rationale_tokens_load "
            "ORDER BY token, n_tokens, rationale_id"
        )
        conn.exec_driver_sql("DROP TABLE rationale_tokens_load")
        if is_pg:  # the serial column did not hand out the ids given above
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('rationales', 'id'), "
                "(SELECT COALESCE(MAX(id), 1) FROM rationales))"
            )
        self._ranks, self._generation = ranks, generation
        return next_id - 1

    def open(self, now: datetime) -> str:
        """At start-up: load the rationales of a database from before the store
        (:meth:`backfill`), or measure the word order again if the store has grown well past
        what it was measured on (:meth:`remeasure`). Says what it did, for the log."""
        loaded = self.backfill(now)
        if loaded:
            return f"{loaded} earlier rationales and reasons loaded into the rationale store"
        rebuilt = self.remeasure(now, force=self.stale_format())
        if rebuilt:
            return f"rationale index rebuilt in a newly measured word order ({rebuilt} texts)"
        return ""

    def stale_format(self) -> bool:
        """Whether the store holds texts indexed in an earlier :data:`INDEX_FORMAT` (a store
        without an order row was filled text by text, maybe by an earlier version)."""
        with read_tx(self.engine) as conn:
            if conn.execute(sa.select(rationales.c.id).limit(1)).first() is None:
                return False
            found = conn.execute(
                sa.select(rationale_order.c.index_format).where(rationale_order.c.id == 1)
            ).first()
            return found is None or found.index_format != INDEX_FORMAT

    def remeasure(self, now: datetime, force: bool = False) -> int:
        """Rebuild the store in a word order measured on what it holds now, when it holds
        :data:`REMEASURE_FACTOR` times the texts of the last measure (or ``force``); drops
        texts past the lookback. One write transaction; returns how many texts, or 0."""
        with write_tx(self.engine) as conn:
            changelog.lock_head(conn)  # no command records a text meanwhile, on any server
            count = int(
                conn.execute(sa.select(sa.func.count()).select_from(rationales)).scalar_one()
            )
            measured = (
                conn.execute(
                    sa.select(rationale_order.c.measured_on).where(rationale_order.c.id == 1)
                ).scalar()
                or 0
            )
            if not force and (count < REMEASURE_MIN or count < REMEASURE_FACTOR * measured):
                return 0
            conn.exec_driver_sql(
                "CREATE TEMPORARY TABLE rationales_keep AS SELECT * FROM rationales"
            )
            conn.execute(rationale_tokens.delete())
            conn.execute(rationales.delete())
            keep = sa.Table(
                "rationales_keep", sa.MetaData(), *(sa.Column(c.name, c.type) for c in rationales.c)
            )

            def rows() -> Iterator[dict[str, Any]]:
                last = 0
                while page := conn.execute(
                    sa.select(keep)
                    .where(keep.c.id > last, keep.c.at >= now - self.lookback)
                    .order_by(keep.c.id)
                    .limit(20_000)
                ).all():
                    yield from (dict(r._mapping) for r in page)
                    last = page[-1].id

            done = self.bulk_load(conn, rows())
            conn.exec_driver_sql("DROP TABLE rationales_keep")
            return done

    def backfill(self, now: datetime) -> int:
        """Once, on a database that has rationales in its incidents, diverts and ended schemes
        but none in this store (one from before the store): load those of the lookback.

        A downgrade's own time is not kept on the incident, so its last update stands in.
        """
        with read_tx(self.engine) as conn:
            if conn.execute(sa.select(rationales.c.id).limit(1)).first() is not None:
                return 0
            rows = list(_existing(conn, now - self.lookback))
        if not rows:
            return 0
        with write_tx(self.engine) as conn:
            changelog.lock_head(conn)  # no command records a text meanwhile, on any server
            if conn.execute(sa.select(rationales.c.id).limit(1)).first() is not None:
                return 0  # another process made it first
            return self.bulk_load(conn, rows)


_ENTITY_COLUMNS = ("incident_id", "incident_ref", "unit_callsign", "divert_id", "scheme_id")

_schemes = sa.table(  # the scheme table (features.warnings.tables); only these two columns are read
    "schemes",
    sa.column("id", sa.Integer),
    sa.column("removed_at", UTCDateTime()),
    sa.column("removed_reason", sa.Text),
)


def _existing(conn: Connection, since: datetime) -> Iterator[dict[str, Any]]:
    i = incidents
    for r in conn.execute(
        sa.select(i.c.id, i.c.ref, i.c.closed_at, i.c.rationale).where(
            i.c.rationale.is_not(None), i.c.closed_at >= since
        )
    ):
        yield {
            "at": r.closed_at,
            "kind": "close",
            "text": r.rationale,
            "incident_id": r.id,
            "incident_ref": r.ref,
        }
    for r in conn.execute(
        sa.select(i.c.id, i.c.ref, i.c.updated_at, i.c.downgrade_reason).where(
            i.c.downgrade_reason.is_not(None), i.c.updated_at >= since
        )
    ):
        yield {
            "at": r.updated_at,
            "kind": "downgrade",
            "text": r.downgrade_reason,
            "incident_id": r.id,
            "incident_ref": r.ref,
        }
    d = diverts
    for dr in conn.execute(
        sa.select(
            d.c.id,
            d.c.callsign,
            d.c.from_incident_id,
            d.c.at,
            d.c.reason,
            d.c.reviewed_at,
            d.c.review_note,
            i.c.ref,
        )
        .join(i, i.c.id == d.c.from_incident_id)
        .where(sa.or_(d.c.at >= since, d.c.reviewed_at >= since))
    ):
        entity = {
            "incident_id": dr.from_incident_id,
            "incident_ref": dr.ref,
            "unit_callsign": dr.callsign,
            "divert_id": dr.id,
        }
        if dr.at >= since:
            yield {"at": dr.at, "kind": "divert", "text": dr.reason, **entity}
        if dr.review_note is not None and dr.reviewed_at is not None and dr.reviewed_at >= since:
            yield {"at": dr.reviewed_at, "kind": "divert_review", "text": dr.review_note, **entity}
    if not sa.inspect(conn).has_table("schemes"):
        return
    for sr in conn.execute(
        sa.select(_schemes).where(
            _schemes.c.removed_reason.like("ended: %"), _schemes.c.removed_at >= since
        )
    ):
        yield {
            "at": sr.removed_at,
            "kind": "scheme_end",
            "text": sr.removed_reason.removeprefix("ended: "),
            "scheme_id": sr.id,
        }


def _postings(norm: str, rationale_id: int, ranks: Mapping[int, int]) -> list[dict[str, Any]]:
    """The index rows of a text: every pair of words of its prefix in the global order, with
    the position of the pair's later word."""
    order = ordered(norm, ranks)
    n = len(norm.split())
    sig = signature(order)
    first: dict[int, int] = {}  # two pairs of one text with one hash: the looser position
    for j, h in _pairs(order[: prefix_length(n)]):
        first.setdefault(h, j)
    return [
        {"token": h, "n_tokens": n, "rationale_id": rationale_id, "pos": j, "sig": sig}
        for h, j in first.items()
    ]


def _pairs(prefix: list[int]) -> Iterator[tuple[int, int]]:
    """``(j, pair hash)`` of every pair of ``prefix``'s words, ``j`` the later one's position.
    Two pairs may share a hash: that only adds a candidate, never loses one."""
    for j in range(1, len(prefix)):
        later = prefix[j]
        for earlier in prefix[:j]:
            yield j, _pair_hash(earlier, later)


def _pair_hash(a: int, b: int) -> int:
    h = ((a * 0x9E3779B97F4A7C15) ^ b) & 0xFFFF_FFFF_FFFF_FFFF
    h = (h ^ (h >> 31)) * 0xBF58476D1CE4E5B9 & 0xFFFF_FFFF_FFFF_FFFF
    h ^= h >> 29
    return h - (1 << 64) if h >= 1 << 63 else h


def _entity_values(entity: Entity) -> dict[str, Any]:
    return {c: getattr(entity, c) for c in _ENTITY_COLUMNS}


def _same_incident(row: Any, kind: str, entity: Entity) -> bool:
    return (
        entity.incident_id is not None
        and row.incident_id == entity.incident_id
        and "divert_review" not in (kind, row.kind)
    )


def _copy(row: Any, ratio: float) -> Copy:
    return Copy(
        id=row.id,
        kind=row.kind,
        at=row.at,
        ratio=ratio,
        entity=Entity(**{c: getattr(row, c) for c in _ENTITY_COLUMNS}),
    )


def _subject(kind: str) -> str:
    return "scheme" if kind == "scheme_end" else "incident"


def _chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
