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

The comparison is exact, not sampled, and stays fast with an inverted index:

* A text is normalised and split into ``n`` words; each word is tagged with its occurrence
  (``the#1``, ``the#2``), so the multiset overlap of two texts is the overlap of these sets,
  and each tagged word is stored as a 64-bit hash in ``rationale_tokens`` together with the
  text's word count ``m``: the key is ``(token, m, rationale_id)``.
* difflib's ratio is ``2·M / (n + m)`` where ``M``, the matched words, is at most the overlap
  ``o``; and ``real_quick_ratio`` (``2·min(n, m) / (n + m)``) must reach 0.9 too, so a text
  similar to one of ``n`` words has ``9n/11 <= m <= 11n/9`` words and shares at least
  ``t = ceil(9n/11)`` of its tagged words. So it misses at most ``n - t`` of them: among any
  ``k`` of the new text's tagged words it holds at least ``k - (n - t)``.
* The check picks the new text's rarest words (by ``rationale_token_df``, a count of texts
  per word, which only guides the choice: any choice is exact, even with a wrong count), at
  least ``n - t + 1`` of them and more while they cost few index rows, and asks the index for
  the texts of a similar length ``m`` that hold at least ``k - (n - o)`` of those ``k``, with
  ``o = ceil(9(n + m)/20)`` (so at least one). Those candidates are then compared with the
  exact similarity. A hash collision can only add a
  candidate, never lose one.
* An exact copy is found first by the hash of the normalised text.

Rows older than the lookback are ignored by every query and pruned a few at a time as new
ones are recorded, so the index holds about the lookback's worth.

Scheme texts never enter this store: for a scheme end, only the scheme's id and the reason
the supervisor typed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from dispatchdesk.domain.rationale import normalise, rationale_problem, similarity
from dispatchdesk.server.db import UTCDateTime, diverts, incidents, metadata, read_tx, write_tx

_T = TypeVar("_T")

#: The kinds of text recorded; every kind is compared with every other.
KINDS = ("close", "owed_close", "downgrade", "divert", "withdrawal", "divert_review", "scheme_end")

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
)

#: The inverted index: one row per distinct tagged word of each recorded text.
rationale_tokens = sa.Table(
    "rationale_tokens",
    metadata,
    sa.Column("token", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("n_tokens", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("rationale_id", sa.Integer, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)

#: How many recorded texts hold each tagged word: guides which words the check looks up.
rationale_token_df = sa.Table(
    "rationale_token_df",
    metadata,
    sa.Column("token", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("df", sa.Integer, nullable=False),
)

#: After the rarest words the check must look up, further words are looked up while the index
#: rows they cost stay under this: each raises how many of them a candidate must hold.
PROBE_BUDGET = 20_000
#: Rows past the lookback pruned per recorded text (amortised; queries ignore them anyway).
PRUNE_BATCH = 20


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


def token_hashes(norm: str) -> list[int]:
    """The distinct hashes of a normalised text's tagged words."""
    return list(dict.fromkeys(_hash(w) for w in tagged_words(norm)))


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
        self.probe_budget = PROBE_BUDGET

    # --- the check ---------------------------------------------------------------------------

    def problem(self, conn: Connection, now: datetime, text: str, *, kind: str, what: str,
                entity: Entity = Entity()) -> str | None:
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
            ref=e.incident_ref or "another incident", unit=e.unit_callsign or "a unit",
            scheme=e.scheme_id if e.scheme_id is not None else "",
        )
        day = found.at.astimezone(self.tz)
        percent = "identical" if found.ratio >= 1.0 else f"{int(found.ratio * 100)}% similar"
        return f"{named} on {day.day} {day:%b %Y} ({percent})"

    def find_copy(self, conn: Connection, now: datetime, norm: str, *, kind: str = "close",
                  entity: Entity = Entity()) -> Copy | None:
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
        ids = self._candidates(conn, norm, n)
        best: Copy | None = None
        for chunk in _chunks(sorted(ids), 500):
            rows = conn.execute(
                sa.select(rationales).where(rationales.c.id.in_(chunk), rationales.c.at >= since)
            ).all()
            for row in rows:
                if _same_incident(row, kind, entity):
                    continue
                ratio = similarity(norm, normalise(row.text))
                if ratio and (best is None or (ratio, row.at) > (best.ratio, best.at)):
                    best = _copy(row, ratio)
        return best

    def _candidates(self, conn: Connection, norm: str, n: int) -> set[int]:
        hashes = token_hashes(norm)
        lo, hi = length_range(n)
        slack = n - min_overlap(n)  # tagged words a similar text may lack, at most
        df: dict[int, int] = {}
        for chunk in _chunks(hashes, 500):
            for token, count in conn.execute(
                sa.select(rationale_token_df.c.token, rationale_token_df.c.df)
                .where(rationale_token_df.c.token.in_(chunk))
            ):
                df[int(token)] = int(count)
        # The rarest slack + 1 words, then more while the index rows to read stay few: each
        # one more raises how many of them a candidate must hold.
        probe: list[int] = []
        cost = 0
        for h in sorted(hashes, key=lambda h: df.get(h, 0)):
            cost += df.get(h, 0)
            if len(probe) > slack and cost > self.probe_budget:
                break
            probe.append(h)
        if len(probe) <= slack:  # only with colliding hashes: every text of a similar length
            return set(conn.execute(
                sa.select(rationales.c.id).where(rationales.c.n_tokens.between(lo, hi))
            ).scalars().all())
        # A text of m words at least 0.9 similar shares o >= 9(n + m)/20 tagged words, so it
        # lacks at most n - o of them and holds at least len(probe) - (n - o) of the probe.
        held = sa.func.count()
        rows = conn.execute(
            sa.select(rationale_tokens.c.rationale_id)
            .where(rationale_tokens.c.token.in_(probe),
                   rationale_tokens.c.n_tokens.between(lo, hi))
            .group_by(rationale_tokens.c.rationale_id, rationale_tokens.c.n_tokens)
            .having(20 * (held - len(probe) + n) >= 9 * (n + rationale_tokens.c.n_tokens))
        ).scalars().all()
        return set(rows)

    # --- recording -------------------------------------------------------------------------

    def record(self, conn: Connection, now: datetime, text: str, *, kind: str,
               entity: Entity = Entity(), by: str | None = None) -> int:
        """Store an accepted text in the caller's transaction; prunes a few expired ones."""
        if kind not in KINDS:
            raise ValueError(f"unknown rationale kind {kind!r}")
        norm = normalise(text)
        new_id = int(conn.execute(
            rationales.insert().values(
                at=now, kind=kind, by=by, text=text, norm_hash=_hash(norm),
                n_tokens=len(norm.split()), **_entity_values(entity),
            ).returning(rationales.c.id)
        ).scalar_one())
        hashes = token_hashes(norm)
        if hashes:
            n = len(norm.split())
            conn.execute(rationale_tokens.insert(), [
                {"token": h, "n_tokens": n, "rationale_id": new_id} for h in hashes
            ])
            self._count(conn, hashes, +1)
        self.prune(conn, now, PRUNE_BATCH)
        return new_id

    def check_and_record(self, conn: Connection, now: datetime, text: str, *, kind: str,
                         what: str, entity: Entity = Entity(), by: str | None = None) -> None:
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
            .order_by(rationales.c.at).limit(limit)
        ).all()
        for row in old:
            hashes = token_hashes(normalise(row.text))
            if hashes:
                conn.execute(rationale_tokens.delete().where(
                    rationale_tokens.c.token.in_(hashes),
                    rationale_tokens.c.n_tokens == row.n_tokens,
                    rationale_tokens.c.rationale_id == row.id,
                ))
                self._count(conn, hashes, -1)
            conn.execute(rationales.delete().where(rationales.c.id == row.id))
        return len(old)

    @staticmethod
    def _count(conn: Connection, hashes: list[int], delta: int) -> None:
        if delta < 0:
            conn.execute(
                rationale_token_df.update()
                .where(rationale_token_df.c.token.in_(hashes))
                .values(df=rationale_token_df.c.df + delta)
            )
            return
        ins: Any = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(
            rationale_token_df
        )
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=[rationale_token_df.c.token],
                set_={"df": rationale_token_df.c.df + ins.excluded.df},
            ),
            [{"token": h, "df": delta} for h in hashes],
        )

    # --- bulk load and the existing database ----------------------------------------------------

    def bulk_load(self, conn: Connection, rows: Iterable[dict[str, Any]],
                  batch: int = 20_000) -> int:
        """Load many texts (dicts with ``at``, ``kind``, ``text`` and entity columns) into an
        empty store, building the index in one pass; returns how many."""
        is_pg = conn.dialect.name == "postgresql"
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE rationale_tokens_load "
            "(token BIGINT NOT NULL, n_tokens INTEGER NOT NULL, rationale_id INTEGER NOT NULL)"
        )
        next_id = int(conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(rationales.c.id), 0))
        ).scalar_one()) + 1
        first = next_id
        load = sa.table("rationale_tokens_load", sa.column("token"), sa.column("n_tokens"),
                        sa.column("rationale_id"))
        for chunk in _chunks(rows, batch):
            texts: list[dict[str, Any]] = []
            postings: list[dict[str, Any]] = []
            for r in chunk:
                norm = normalise(r["text"])
                n = len(norm.split())
                texts.append({
                    "id": next_id, "at": r["at"], "kind": r["kind"], "by": r.get("by"),
                    "text": r["text"], "norm_hash": _hash(norm), "n_tokens": n,
                    **{c: r.get(c) for c in _ENTITY_COLUMNS},
                })
                postings.extend(
                    {"token": h, "n_tokens": n, "rationale_id": next_id}
                    for h in token_hashes(norm)
                )
                next_id += 1
            conn.execute(rationales.insert(), texts)
            conn.execute(load.insert(), postings)
        conn.exec_driver_sql(
            "INSERT INTO rationale_tokens (token, n_tokens, rationale_id) "
            "SELECT token, n_tokens, rationale_id FROM rationale_tokens_load "
            "ORDER BY token, n_tokens, rationale_id"
        )
        conn.exec_driver_sql("DELETE FROM rationale_token_df")
        conn.exec_driver_sql(
            "INSERT INTO rationale_token_df (token, df) "
            "SELECT token, COUNT(*) FROM rationale_tokens GROUP BY token"
        )
        conn.exec_driver_sql("DROP TABLE rationale_tokens_load")
        if is_pg:  # the serial column did not hand out the ids given above
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('rationales', 'id'), "
                "(SELECT COALESCE(MAX(id), 1) FROM rationales))"
            )
        return next_id - first

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
            if conn.execute(sa.select(rationales.c.id).limit(1)).first() is not None:
                return 0  # another process made it first
            return self.bulk_load(conn, rows)


_ENTITY_COLUMNS = ("incident_id", "incident_ref", "unit_callsign", "divert_id", "scheme_id")

_schemes = sa.table(  # the scheme table lives in warnings_api; only these two columns are read
    "schemes", sa.column("id", sa.Integer), sa.column("removed_at", UTCDateTime()),
    sa.column("removed_reason", sa.Text),
)


def _existing(conn: Connection, since: datetime) -> Iterator[dict[str, Any]]:
    i = incidents
    for r in conn.execute(sa.select(i.c.id, i.c.ref, i.c.closed_at, i.c.rationale).where(
        i.c.rationale.is_not(None), i.c.closed_at >= since
    )):
        yield {"at": r.closed_at, "kind": "close", "text": r.rationale, "incident_id": r.id,
               "incident_ref": r.ref}
    for r in conn.execute(sa.select(i.c.id, i.c.ref, i.c.updated_at, i.c.downgrade_reason).where(
        i.c.downgrade_reason.is_not(None), i.c.updated_at >= since
    )):
        yield {"at": r.updated_at, "kind": "downgrade", "text": r.downgrade_reason,
               "incident_id": r.id, "incident_ref": r.ref}
    d = diverts
    for dr in conn.execute(
        sa.select(d.c.id, d.c.callsign, d.c.from_incident_id, d.c.at, d.c.reason, d.c.reviewed_at,
                  d.c.review_note, i.c.ref)
        .join(i, i.c.id == d.c.from_incident_id)
        .where(sa.or_(d.c.at >= since, d.c.reviewed_at >= since))
    ):
        entity = {"incident_id": dr.from_incident_id, "incident_ref": dr.ref,
                  "unit_callsign": dr.callsign, "divert_id": dr.id}
        if dr.at >= since:
            yield {"at": dr.at, "kind": "divert", "text": dr.reason, **entity}
        if dr.review_note is not None and dr.reviewed_at is not None and dr.reviewed_at >= since:
            yield {"at": dr.reviewed_at, "kind": "divert_review", "text": dr.review_note,
                   **entity}
    if not sa.inspect(conn).has_table("schemes"):
        return
    for sr in conn.execute(sa.select(_schemes).where(
        _schemes.c.removed_reason.like("ended: %"), _schemes.c.removed_at >= since
    )):
        yield {"at": sr.removed_at, "kind": "scheme_end",
               "text": sr.removed_reason.removeprefix("ended: "), "scheme_id": sr.id}


def _entity_values(entity: Entity) -> dict[str, Any]:
    return {c: getattr(entity, c) for c in _ENTITY_COLUMNS}


def _same_incident(row: Any, kind: str, entity: Entity) -> bool:
    return (
        entity.incident_id is not None and row.incident_id == entity.incident_id
        and "divert_review" not in (kind, row.kind)
    )


def _copy(row: Any, ratio: float) -> Copy:
    return Copy(
        id=row.id, kind=row.kind, at=row.at, ratio=ratio,
        entity=Entity(**{c: getattr(row, c) for c in _ENTITY_COLUMNS}),
    )


def _subject(kind: str) -> str:
    return "scheme" if kind == "scheme_end" else "incident"


def _chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
