"""Server-Sent Events over loopback against the embedded server (uvicorn in a thread)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import httpx
import pytest

from dispatchdesk.server import EmbeddedServer, ServerSettings

from .conftest import Api, login
from .helpers import Stream


def _client(srv: EmbeddedServer) -> httpx.Client:
    return httpx.Client(base_url=srv.url, timeout=10)


def test_resume_from_last_event_id_without_gap_or_duplicate(server: EmbeddedServer) -> None:
    with _client(server) as http:
        api = login(http, "cathy")
        for i in range(3):
            api.create(summary=f"Call {i}")
        s = Stream(http, api.token or "", params={"since": 0})
        assert s.response.status_code == 200
        assert s.response.headers["content-type"].startswith("text/event-stream")
        assert "X-Server-Time" in s.response.headers
        first = s.changes(3)
        api.create(summary="Call 3, live")
        first += s.changes(1)
        s.close()
        assert [c.seq for c in first] == [1, 2, 3, 4]
        for i in range(4, 6):
            api.create(summary=f"Call {i}, while away")
        s = Stream(http, api.token or "", **{"Last-Event-ID": str(first[-1].seq)})
        second = s.changes(2)
        api.create(summary="Call 6, live again")
        second += s.changes(1)
        s.close()
        assert [c.seq for c in second] == [5, 6, 7]
        assert [c.data["summary"] for c in first + second] == [
            "Call 0",
            "Call 1",
            "Call 2",
            "Call 3, live",
            "Call 4, while away",
            "Call 5, while away",
            "Call 6, live again",
        ]


def test_commit_wakes_stream_at_once(settings: ServerSettings) -> None:
    # a heartbeat far longer than the read timeout: only the commit can wake the stream
    with EmbeddedServer(replace(settings, heartbeat_seconds=15)) as srv, _client(srv) as http:
        api = login(http, "dan")
        s = Stream(http, api.token or "")  # no resume point: from now on
        assert s.next() == {"comment": "connected heartbeat=15"}
        api.create(summary="Wake up")
        [change] = s.changes(1)
        assert change.seq == 1
        s.close()


def test_heartbeat_arrives(server: EmbeddedServer) -> None:
    with _client(server) as http:
        api = login(http, "dan")
        s = Stream(http, api.token or "", params={"since": 0})
        beats = []
        while len(beats) < 2:
            ev = s.next()
            if ev.get("comment", "").startswith("heartbeat"):
                beats.append(ev["comment"])
        s.close()
        assert beats[0].startswith("heartbeat 2026-11-23T09:00:00")


def test_410_on_too_old_resume(settings: ServerSettings) -> None:
    with EmbeddedServer(replace(settings, change_retention=2)) as srv, _client(srv) as http:
        api = login(http, "cathy")
        for i in range(5):
            api.create(summary=f"Call {i}")
        r = api.get("/events", headers={"Last-Event-ID": "1"})
        assert r.status_code == 410
        assert "snapshot" in r.json()["detail"]
        assert api.get("/events", params={"since": 2}).status_code == 410
        assert api.get("/events", params={"since": 9}).status_code == 410
        s = Stream(http, api.token or "", params={"since": 3})
        assert [c.seq for c in s.changes(2)] == [4, 5]
        s.close()


def test_restart_on_same_port_and_resume(settings: ServerSettings) -> None:
    srv = EmbeddedServer(settings)
    srv.start()
    port = srv.port
    try:
        http = _client(srv)
        api = login(http, "cathy")
        api.create(summary="Before the restart")
        s = Stream(http, api.token or "", params={"since": 0})
        [before] = s.changes(1)
        srv.stop()  # ends the open stream too
        with pytest.raises((EOFError, httpx.HTTPError)):
            while True:
                s.next()
        s.close()
        http.close()
        srv = EmbeddedServer(replace(settings, port=port or 0))
        srv.start()
        assert srv.port == port
        http = _client(srv)
        api = Api(http, api.token)  # the token survives the restart
        api.create(summary="After the restart")
        s = Stream(http, api.token or "", **{"Last-Event-ID": str(before.seq)})
        [after] = s.changes(1)
        s.close()
        http.close()
        assert after.seq == before.seq + 1
        assert after.data["summary"] == "After the restart"
    finally:
        srv.stop()


@pytest.mark.postgres
def test_second_node_on_same_database_fans_out(settings: ServerSettings) -> None:
    if not settings.db_url.startswith("postgresql"):
        pytest.skip("several API nodes share one PostgreSQL database")
    with (
        EmbeddedServer(replace(settings, heartbeat_seconds=15, poll_seconds=10)) as a,
        EmbeddedServer(settings) as b,
        _client(a) as http_a,
        _client(b) as http_b,
    ):
        reader = login(http_a, "dan")
        writer = login(http_b, "cathy")
        s = Stream(http_a, reader.token or "", params={"since": 0})
        writer.create(summary="Written on node B")
        [change] = s.changes(1)
        s.close()
        assert change.data["summary"] == "Written on node B"


def test_same_object_restarts_on_same_port(settings: ServerSettings) -> None:
    srv = EmbeddedServer(settings)
    srv.start()
    try:
        url = srv.url
        srv.stop()
        with pytest.raises(httpx.ConnectError), httpx.Client(base_url=url) as http:
            http.get("/openapi.json")
        srv.start()
        assert srv.url == url
        with httpx.Client(base_url=url) as http:
            assert login(http, "sue").get("/snapshot").status_code == 200
    finally:
        srv.stop()


def test_streams_share_one_read_of_each_commit(
    settings: ServerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight desks connected: each commit is read from the log once, not once per stream,
    and every stream still gets every change in order."""
    from dispatchdesk.server import events

    reads: list[int] = []
    real_read = events._read

    def counting_read(service: Any, since: int) -> Any:
        reads.append(since)
        return real_read(service, since)

    real_window = events._read_window

    def counting_window(service: Any, end: int) -> Any:
        reads.append(end)
        return real_window(service, end)

    monkeypatch.setattr(events, "_read", counting_read)
    monkeypatch.setattr(events, "_read_window", counting_window)
    with EmbeddedServer(replace(settings, heartbeat_seconds=15)) as srv, _client(srv) as http:
        api = login(http, "cathy")
        streams = [Stream(http, api.token or "") for _ in range(8)]
        for s in streams:
            assert s.next() == {"comment": "connected heartbeat=15"}
        created = [api.create(summary=f"Shared read number {i}").json()["id"] for i in range(5)]
        for s in streams:
            got = s.changes(5)
            assert [c.data["id"] for c in got] == created
            s.close()
    assert len(reads) <= 5 + 8  # one per commit (a stream may read once more at the start)


def test_heartbeats_keep_their_interval_while_commits_keep_the_stream_busy(
    settings: ServerSettings,
) -> None:
    """The heartbeat has a timer of its own, set again at each heartbeat: commits waking the
    stream every few milliseconds neither hold it back nor stop it."""
    beat = 0.5
    with (
        EmbeddedServer(replace(settings, heartbeat_seconds=beat)) as srv,
        _client(srv) as http,
        _client(srv) as writer_http,
    ):
        api, writer = login(http, "dan"), login(writer_http, "cathy")
        s = Stream(http, api.token or "")
        assert s.next() == {"comment": f"connected heartbeat={beat:g}"}
        stop = threading.Event()

        def commit_all_along() -> None:
            while not stop.is_set():
                writer.create(summary="Keeping the stream busy")

        committer = threading.Thread(target=commit_all_along)
        committer.start()
        try:
            beats, changes, start = 0, 0, time.monotonic()
            while beats < 4:
                event = s.next()
                if event.get("comment", "").startswith("heartbeat"):
                    beats += 1
                else:
                    changes += 1
            took = time.monotonic() - start
        finally:
            stop.set()
            committer.join()
            s.close()
        assert changes >= beats  # the commits did wake the stream in between
        assert took < 4 * 2 * beat  # each within twice the interval of the one before
