"""Property: however the feed is cut into batches (and repeated), the cache and the screen end
up exactly where applying every change once, in order, would put them."""

from __future__ import annotations

import asyncio
import tempfile
from itertools import pairwise
from pathlib import Path

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchdesk.cache import CacheStore, CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.protocol.schemas import Change
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine

from .conftest import Recorder
from .test_engine_faults import wire

ops = st.lists(
    st.tuples(st.sampled_from(["upsert", "delete"]), st.integers(1, 6)), min_size=1, max_size=40
)


def changes_for(script: list[tuple[str, int]]) -> list[Change]:
    out = []
    versions: dict[int, int] = {}
    for seq, (op, iid) in enumerate(script, start=1):
        if op == "upsert":
            versions[iid] = versions.get(iid, 0) + 1
            out.append(
                Change(seq=seq, entity="incident", op="upsert", data=wire(iid, versions[iid]))
            )
        else:
            out.append(Change(seq=seq, entity="incident", op="delete", data={"id": iid}))
    return out


def expected(changes: list[Change]) -> dict[int, int]:
    state: dict[int, int] = {}
    for c in changes:
        if c.op == "upsert":
            state[c.data["id"]] = c.data["version"]
        else:
            state.pop(c.data["id"], None)
    return state


@settings(max_examples=40, deadline=None)
@given(script=ops, cuts=st.lists(st.integers(0, 40), max_size=8), overlap=st.integers(0, 3))
def test_any_batching_gives_the_sequential_result(
    script: list[tuple[str, int]], cuts: list[int], overlap: int
) -> None:
    changes = changes_for(script)
    bounds = sorted({0, len(changes), *(min(c, len(changes)) for c in cuts)})
    # Each batch also repeats up to `overlap` changes before it (a resumed stream's repeats).
    batches = [changes[max(0, a - overlap) : b] for a, b in pairwise(bounds)]

    async def run() -> tuple[dict[int, int], dict[int, int], int | None]:
        with tempfile.TemporaryDirectory() as d:
            worker = CacheWorker(CacheStore(Path(d) / "c.sqlite3"))
            rec = Recorder()
            client = ApiClient(
                "http://unused.test", transport=httpx.MockTransport(lambda r: httpx.Response(500))
            )
            engine = SyncEngine(client, worker, rec, ServerClock())
            engine._ctx.cursor = 0
            for batch in batches:
                await engine._feed.apply(batch, None)
            await client.aclose()
            state = worker.store.load()
            worker.close()
            return (
                {i.id: i.version for i in state.incidents},
                {i: x.version for i, x in rec.incidents.items()},
                state.cursor,
            )

    cache, screen, cursor = asyncio.run(run())
    want = expected(changes)
    assert cache == want
    assert screen == want
    assert cursor == len(changes)
