"""The rationale index finds exactly what comparing with every stored text finds (brute force),
over random near-duplicate texts; and its length and overlap bounds hold for difflib."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from difflib import SequenceMatcher
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Indel
from sqlalchemy.engine import Engine

from dispatchdesk.domain.rationale import normalise, similarity
from dispatchdesk.server.db import create_schema, make_engine, write_tx
from dispatchdesk.server.rationales import (
    INDEX_FORMAT,
    Entity,
    RationaleStore,
    length_range,
    min_overlap,
    overlap_bound,
    prefix_length,
    rationale_order,
    rationale_tokens,
    rationale_word_ranks,
    rationales,
    signature,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LOOKBACK = timedelta(days=730)
# a small vocabulary, so random texts share words often and near-duplicates are common
WORDS = (
    "the",
    "unit",
    "attended",
    "caller",
    "and",
    "no",
    "offence",
    "at",
    "address",
    "spoke",
    "to",
    "victim",
    "safe",
    "suspect",
    "left",
    "area",
    "high",
    "street",
    "12",
    "cad",
    "0042",
    "arrested",
    "advised",
    "search",
    "negative",
)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            eng = make_engine(f"sqlite:///{Path(tmp) / 'index.db'}")
            create_schema(eng)
            yield eng
            eng.dispose()
        return
    base = os.environ.get("DISPATCHDESK_TEST_PG_URL")
    if not base:
        pytest.skip("DISPATCHDESK_TEST_PG_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        eng = make_engine(
            sa.make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
        create_schema(eng)
        yield eng
        eng.dispose()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def _clear(engine: Engine) -> None:
    with write_tx(engine) as conn:
        for table in (rationale_tokens, rationales, rationale_word_ranks, rationale_order):
            conn.execute(table.delete())


def _edit(base: list[str], edits: list[tuple[int, int, str]]) -> list[str]:
    out = list(base)
    for op, pos, word in edits:
        i = pos % (len(out) + 1)
        if op == 0:
            out.insert(i, word)
        elif op == 1 and len(out) > 1:
            del out[min(i, len(out) - 1)]
        elif out:
            out[min(i, len(out) - 1)] = word
    return out


words = st.sampled_from(WORDS)
edit = st.tuples(st.integers(0, 2), st.integers(0, 40), words)
base_text = st.lists(words, min_size=3, max_size=30)


@st.composite
def corpus(draw: st.DrawFn) -> tuple[list[tuple[str, int, int]], list[str]]:
    """Stored texts (text, days ago, incident id) and query texts."""
    bases = draw(st.lists(base_text, min_size=1, max_size=4))
    stored = []
    for _ in range(draw(st.integers(1, 25))):
        b = draw(st.sampled_from(bases))
        text = _edit(b, draw(st.lists(edit, max_size=3)))
        if text:
            stored.append(
                (
                    " ".join(text),
                    draw(st.sampled_from([0, 10, 500, 729, 731, 900])),
                    draw(st.integers(1, 4)),
                )
            )
    queries = []
    for _ in range(draw(st.integers(1, 4))):
        b = draw(st.sampled_from(bases))
        queries.append(" ".join(_edit(b, draw(st.lists(edit, max_size=3)))))
    return stored, queries


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus(), st.integers(1, 5))
def test_the_index_finds_what_brute_force_finds(
    engine: Engine,
    data: tuple[list[tuple[str, int, int]], list[str]],
    own_incident: int,
) -> None:
    stored, queries = data
    _clear(engine)
    store = RationaleStore(engine, LOOKBACK, ZoneInfo("Europe/London"))
    store.rank_min = 2  # so the bulk load's ranks reorder even a small corpus
    half = len(stored) // 2
    with write_tx(engine) as conn:  # half loaded in bulk (measuring the order), half recorded
        store.bulk_load(
            conn,
            [
                {
                    "at": NOW - timedelta(days=days),
                    "kind": "close",
                    "text": text,
                    "incident_id": incident_id,
                    "incident_ref": f"CAD {incident_id}",
                }
                for text, days, incident_id in stored[:half]
            ],
        )
        for text, days, incident_id in stored[half:]:
            store.record(
                conn,
                NOW - timedelta(days=days),
                text,
                kind="close",
                entity=Entity(incident_id, f"CAD {incident_id}"),
            )
    with write_tx(engine) as conn:
        for query in queries:
            norm = normalise(query)
            entity = Entity(own_incident, f"CAD {own_incident}")
            found = store.find_copy(conn, NOW, norm, kind="close", entity=entity)
            best = max(
                (
                    similarity(norm, normalise(text))
                    for text, days, incident_id in stored
                    if days <= 730 and incident_id != own_incident
                ),
                default=0.0,
            )
            assert (found.ratio if found else 0.0) == best, (query, found)


@given(st.lists(words, min_size=1, max_size=40), st.lists(words, min_size=1, max_size=40))
def test_similar_texts_meet_the_length_and_overlap_bounds(a: list[str], b: list[str]) -> None:
    ratio = similarity(" ".join(a), " ".join(b))
    if not ratio:
        return
    lo, hi = length_range(len(a))
    assert lo <= len(b) <= hi
    overlap = sum((Counter(a) & Counter(b)).values())
    assert overlap >= min_overlap(len(a)) and overlap >= min_overlap(len(b))


@given(
    st.sets(st.integers(-(2**63), 2**63 - 1), max_size=40),
    st.sets(st.integers(0, 200), max_size=40),
    st.sets(st.integers(0, 200), max_size=40),
    st.integers(0, 2**57),
)
def test_the_signature_bounds_the_shared_words_from_above(
    shared: set[int], only_a: set[int], only_b: set[int], step: int
) -> None:
    """However the words' hashes collide in the 64 bits (many do here), two texts' signatures
    never allow fewer shared words than they have: the index's filter loses no copy."""
    only_a = {h * step - 2**62 for h in only_a} - shared
    only_b = {h * step - 2**62 for h in only_b} - shared - only_a
    a, b = shared | only_a, shared | only_b
    assert overlap_bound(signature(a), len(a), signature(b), len(b)) >= len(shared)
    assert overlap_bound(signature(a), len(a), signature(a), len(a)) == len(a)


@given(st.lists(words, min_size=1, max_size=40), st.lists(words, min_size=1, max_size=40))
def test_the_indel_similarity_bounds_difflib_from_above(a: list[str], b: list[str]) -> None:
    """``similarity`` skips difflib when rapidfuzz's Indel similarity is under the limit."""
    ratio = SequenceMatcher(None, a, b, autojunk=False).ratio()
    assert Indel.normalized_similarity(a, b) >= ratio - 1e-12
    assert similarity(" ".join(a), " ".join(b)) == (ratio if ratio >= 0.9 else 0.0)


def test_pruning_drops_old_texts_with_their_index_rows(engine: Engine) -> None:
    _clear(engine)
    store = RationaleStore(engine, LOOKBACK, ZoneInfo("Europe/London"))
    text = "Suspect left before police arrived, victim safe at her sister's address"
    kept = "A different, specific rationale for incident 42"
    with write_tx(engine) as conn:
        store.record(conn, NOW - timedelta(days=800), text, kind="close")
        new_id = store.record(conn, NOW, kept, kind="close")
    with write_tx(engine) as conn:
        assert conn.execute(sa.select(rationales.c.id)).scalars().all() == [new_id]
        assert set(conn.execute(sa.select(rationale_tokens.c.rationale_id)).scalars()) == {new_id}
        p = prefix_length(len(normalise(kept).split()))
        assert (
            conn.execute(  # every pair of its prefix's words
                sa.select(sa.func.count()).select_from(rationale_tokens)
            ).scalar()
            == p * (p - 1) // 2
        )


def test_remeasuring_the_order_keeps_every_text_findable(engine: Engine) -> None:
    _clear(engine)
    store = RationaleStore(engine, LOOKBACK, ZoneInfo("Europe/London"))
    store.rank_min = 2
    texts = [
        f"Unit {n} attended the address at {n} High Street, the caller and victim safe, "
        f"suspect {name} left before police arrived"
        for n, name in enumerate(["Dean", "Gary", "Ali", "Tom", "Sam", "Kofi", "Raj", "Lee"] * 3)
    ]
    with write_tx(engine) as conn:
        for i, text in enumerate(texts):
            store.record(
                conn,
                NOW - timedelta(days=i * 40),
                text,
                kind="close",
                entity=Entity(i + 1, f"CAD {i + 1}"),
            )
    in_window = sum(1 for i in range(len(texts)) if i * 40 <= 730)
    assert store.remeasure(NOW) == 0  # not grown past its last measure
    assert store.remeasure(NOW, force=True) == in_window
    with write_tx(engine) as conn:
        assert store.ranks(conn)  # measured on the texts it holds
        for i, text in enumerate(texts):
            found = store.find_copy(conn, NOW, normalise(text + " today"))
            if i * 40 <= 730:
                assert found is not None and found.entity.incident_ref == f"CAD {i + 1}"
            else:
                assert found is None or found.entity.incident_ref != f"CAD {i + 1}"


def test_a_store_indexed_by_an_earlier_version_is_rebuilt_at_start(engine: Engine) -> None:
    _clear(engine)
    store = RationaleStore(engine, LOOKBACK, ZoneInfo("Europe/London"))
    text = "Unit LX12 attended 4 Elm Road, caller Dean safe, suspect left before police arrived"
    with write_tx(engine) as conn:
        rid = store.record(conn, NOW, text, kind="close", entity=Entity(1, "CAD 1"))
        # as an earlier version left it: one row per single word, no format recorded
        conn.execute(rationale_tokens.delete())
        conn.execute(
            rationale_tokens.insert(),
            [
                {"token": 7, "n_tokens": 14, "rationale_id": rid, "pos": 0},
            ],
        )
    assert store.stale_format()
    assert "rebuilt" in store.open(NOW)
    assert not store.stale_format()
    with write_tx(engine) as conn:
        assert conn.execute(sa.select(rationale_order.c.index_format)).scalar_one() == INDEX_FORMAT
        found = store.find_copy(conn, NOW, normalise(text + " today"))
        assert found is not None and found.entity.incident_ref == "CAD 1"
    assert store.open(NOW) == ""  # nothing to do the second time
