"""Helpers the server tests share: unit commands, scheme and order bodies, an SSE reader.

Fixtures (the ``desk`` of signed-in users, the ``server`` on loopback, the ``clock``) are in
``conftest.py``."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Connection

from dispatchdesk.protocol import API_PREFIX
from dispatchdesk.protocol.schemas import Change

from .conftest import START, Api

# --- units and incidents ---------------------------------------------------------------------


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def new_unit(api: Api, callsign: str, **over: Any) -> dict[str, Any]:
    body = {"callsign": callsign, "kind": "IRV", "borough": "Westminster", **over}
    r = api.post("/units", json=body, headers=key())
    assert r.status_code == 201, r.text
    return dict(r.json())


def cmd(
    api: Api, unit: dict[str, Any] | int, action: str, body: dict[str, Any] | None = None, **kw: Any
) -> httpx.Response:
    uid = unit if isinstance(unit, int) else unit["id"]
    return api.post(f"/units/{uid}/{action}", json=body, headers={**key(), **kw})


def incident(api: Api, incident_id: int) -> dict[str, Any]:
    r = api.get(f"/incidents/{incident_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def refused(r: httpx.Response, field: str | None = None) -> str:
    """The sentence of a refused rationale or reason (422, one field error of type
    ``rationale_refused``, naming ``field`` when given)."""
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["type"] == "rationale_refused", error
    if field is not None:
        assert error["loc"] == ["body", field], error
    return str(error["msg"])


def changes_since(api: Api, since: int) -> list[dict[str, Any]]:
    return list(api.get(f"/changes?since={since}").json()["changes"])


def cursor(api: Api) -> int:
    return int(api.get("/snapshot").json()["cursor"])


# --- schemes and orders ----------------------------------------------------------------------

BLOCK = {
    "uprn": "100023336956",
    "address": "Rose House, 10 Mill Lane",
    "postcode": "E1 6AN",
    "usrn": "22700001",
}


def scheme_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "location": BLOCK,
        "category": "VICTIM_AT_RISK",
        "summary": "Victim of DA lives here; ex-partner on bail, not to attend",
        "officer_in_case": "DC 1234 Patel",
        "expires_at": (START + timedelta(days=90)).isoformat(),
    }
    body.update(over)
    return body


def order_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_type": "NON_MOLESTATION",
        "subject": {"name": "Gary Hollis", "dob": "1984-03-09"},
        "protected_persons": [{"name": "Dawn Hollis", "dob": "1986-07-21"}],
        "locations": [{"address": "22 Acacia Avenue", "postcode": "N1 9GU", "uprn": "5550001"}],
        "conditions": "Not to contact Dawn Hollis or come within 100 m of 22 Acacia Avenue",
        "issued_on": "2026-05-24",
        "expires_on": "2026-11-24",
        "source_ref": "FAM-2026-0042",
    }
    body.update(over)
    return body


def make_scheme(api: Api, **over: Any) -> dict[str, Any]:
    r = api.post("/schemes", json=scheme_body(**over), headers=key())
    assert r.status_code == 201, r.text
    return dict(r.json())


# --- the event stream ------------------------------------------------------------------------

#: A stream that stays silent this long fails the test instead of hanging it.
READ_TIMEOUT = 5.0


class Stream:
    """An open SSE response, read one event (or comment) at a time."""

    def __init__(self, client: httpx.Client, token: str, **headers_and_params: Any) -> None:
        params = headers_and_params.pop("params", None)
        headers = {"Authorization": f"Bearer {token}", **headers_and_params}
        self._cm = client.stream(
            "GET",
            f"{API_PREFIX}/events",
            headers=headers,
            params=params,
            timeout=httpx.Timeout(READ_TIMEOUT),
        )
        self.response = self._cm.__enter__()
        self._lines = self.response.iter_lines()

    def next(self) -> dict[str, str]:
        """The next event's fields; a comment comes back as {"comment": ...}."""
        fields: dict[str, str] = {}
        for line in self._lines:
            if line == "":
                if fields:
                    return fields
                continue
            if line.startswith(":"):
                return {"comment": line[1:].strip()}
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        raise EOFError("the stream ended")

    def changes(self, n: int) -> list[Change]:
        got: list[Change] = []
        while len(got) < n:
            ev = self.next()
            if ev.get("event") == "change":
                change = Change.model_validate_json(ev["data"])
                assert int(ev["id"]) == change.seq
                got.append(change)
        return got

    def close(self) -> None:
        self._cm.__exit__(None, None, None)


def blocks_someone(other: Connection, worker: threading.Thread, seconds: float = 30) -> bool:
    """Whether a session waits on a lock ``other`` holds, before ``worker`` ends or the time
    is up (PostgreSQL: its wait is read from ``pg_stat_activity``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and worker.is_alive():
        other.exec_driver_sql("SELECT pg_stat_clear_snapshot()")  # not this transaction's
        waiting = other.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        ).scalar()
        if waiting:
            return True
    return False
