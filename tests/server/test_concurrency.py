"""Concurrent commands: seqs strictly increasing, gap-free, and visible in commit order."""

from __future__ import annotations

import threading

import httpx

from dispatchdesk.server import EmbeddedServer

from .conftest import Api, login

WRITERS = 4
PER_WRITER = 8


def test_concurrent_commands_give_gap_free_seqs_in_commit_order(server: EmbeddedServer) -> None:
    barrier = threading.Barrier(WRITERS + 1)
    done = threading.Event()
    errors: list[str] = []
    observed: list[int] = []

    def write(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            api = login(http, "dan")
            barrier.wait()
            for i in range(PER_WRITER):
                r = api.create(summary=f"Writer {n} call {i}")
                if r.status_code != 201:
                    errors.append(r.text)
                    continue
                inc = r.json()
                r = api.patch(
                    f"/incidents/{inc['id']}",
                    json={"summary": f"Update {n}.{i}"},
                    headers={"If-Match": "1"},
                )
                if r.status_code != 200:
                    errors.append(r.text)

    def read() -> None:
        # A reader that has seen seq N must never later see a new seq below N: every page
        # must continue exactly where the last one ended.
        with httpx.Client(base_url=server.url, timeout=30) as http:
            api: Api = login(http, "sue")
            cursor = 0
            barrier.wait()
            while True:
                finished = done.is_set()
                page = api.get(f"/changes?since={cursor}").json()
                seqs = [c["seq"] for c in page["changes"]]
                if seqs != list(range(cursor + 1, cursor + 1 + len(seqs))):
                    errors.append(f"after {cursor} got {seqs}")
                    return
                observed.extend(seqs)
                cursor = page["cursor"]
                if finished and not page["more"]:
                    return

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    reader = threading.Thread(target=read)
    for t in [*threads, reader]:
        t.start()
    for t in threads:
        t.join(60)
    done.set()
    reader.join(60)
    assert not errors, errors[:5]
    total = WRITERS * PER_WRITER * 2
    assert observed == list(range(1, total + 1))
    with httpx.Client(base_url=server.url) as http:
        snap = login(http, "sue").get("/snapshot").json()
    assert snap["cursor"] == total
    assert len(snap["incidents"]) == WRITERS * PER_WRITER
    refs = {i["ref"] for i in snap["incidents"]}
    assert len(refs) == WRITERS * PER_WRITER
    assert all(i["version"] == 2 for i in snap["incidents"])


def test_concurrent_duplicates_apply_once(server: EmbeddedServer) -> None:
    n = 6
    barrier = threading.Barrier(n)
    results: list[tuple[int, dict[str, object]]] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            api = login(http, "cathy")
            barrier.wait()
            r = api.create(key="same-key-everywhere", summary="One call, sent six times")
            with lock:
                results.append((r.status_code, r.json()))

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [s for s, _ in results] == [201] * n
    assert all(body == results[0][1] for _, body in results)
    with httpx.Client(base_url=server.url) as http:
        api = login(http, "sue")
        snap = api.get("/snapshot").json()
        page = api.get("/changes?since=0").json()
    assert len(snap["incidents"]) == 1
    assert [c["seq"] for c in page["changes"]] == [1]
