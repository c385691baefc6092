"""Issue 9's proof: random sequences of incident and unit commands, driven through the API, with
the safety invariants checked after every step.

- ``attended_at`` is set only by an arrival (a unit's ``/arrive`` on that incident, at that
  moment), and no other command ever sets it;
- an incident that lost its last unit before that unit arrived (a clear or a divert) is owed,
  and stays owed until a unit arrives there or it is closed;
- an owed incident is on the open DIVERT tag list;
- an owed incident with no unit escalates once it has had no unit for the escalation time
  (and only then);
- the status agrees with the units (:func:`status_for_units`); a closed incident has none.

Each example runs on a fresh SQLite database (no example sees another's rows).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.incident import IncidentStatus, status_for_units
from dispatchdesk.domain.unit import UnitStatus
from dispatchdesk.server import ServerSettings, create_app
from dispatchdesk.server.auth import token_hash
from dispatchdesk.server.db import create_schema, make_engine, tokens, users

from .conftest import START, USERS, Api

ESCALATION = timedelta(minutes=10)
STATUSES = [s.value for s in IncidentStatus if s is not IncidentStatus.CLOSED]


def _words() -> str:
    """Free text no other rationale of the run resembles (the server refuses near-copies)."""
    return " ".join(uuid.uuid4().hex[:7] for _ in range(5))


@pytest.fixture
def fresh_server(tmp_path: Path, password_hash: str) -> Iterator[Any]:
    """Makes (and finally closes) a server on a new SQLite file per call, on its own clock.

    Signed in by writing each user a token (sign-in itself is tested elsewhere; its scrypt
    would cost half a second an example)."""
    numbers = count()
    opened: list[TestClient] = []

    def make() -> tuple[Api, Api, Api, FakeClock]:
        url = f"sqlite:///{tmp_path / f'run{next(numbers)}.db'}"
        engine = make_engine(url)
        create_schema(engine)
        bearer = {name: secrets.token_urlsafe(16) for name in USERS}
        with engine.begin() as conn:
            conn.execute(
                users.insert(),
                [
                    {"username": n, "role": r.value, "password_hash": password_hash}
                    for n, r in USERS.items()
                ],
            )
            conn.execute(
                tokens.insert(),
                [
                    {
                        "token_hash": token_hash(t),
                        "username": n,
                        "expires_at": START + timedelta(days=30),
                    }
                    for n, t in bearer.items()
                ],
            )
        engine.dispose()
        clock = FakeClock(START)
        client = TestClient(
            create_app(ServerSettings(db_url=url, clock=clock, port=0, owed_escalation=ESCALATION))
        )
        client.__enter__()
        opened.append(client)
        cathy, dan, sue = (Api(client, bearer[n]) for n in ("cathy", "dan", "sue"))
        return cathy, dan, sue, clock

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def test_safety_invariants_hold_after_every_step(fresh_server: Any) -> None:

    class Desk(RuleBasedStateMachine):
        """Commands by a dispatcher (some by a supervisor or call handler), any order."""

        incidents = Bundle("incidents")
        units = Bundle("units")

        def __init__(self) -> None:
            super().__init__()
            self.cathy, self.dan, self.sue, self.clock = fresh_server()
            self.n = count(1)
            #: The state after the last step, and the step that led to it.
            self.before: dict[str, Any] = {"incidents": {}, "units": {}}
            self.step: tuple[str, int | None, int | None] = ("start", None, None)
            #: incident id -> since when it has been owed with no unit (as observed).
            self.unitless_since: dict[int, datetime] = {}
            self.state = self._read()

        def _post(self, api: Api, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
            r = api.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
            assert r.status_code < 500, r.text
            return r

        def _read(self) -> dict[str, Any]:
            snap = self.sue.get("/snapshot").json()
            owed = any(i["owed"] for i in snap["incidents"])
            tags = self.sue.get("/diverts?state=open").json() if owed else []
            return {
                "incidents": {i["id"]: i for i in snap["incidents"]},
                "units": {u["id"]: u for u in snap["units"]},
                "tags": tags,
            }

        def _did(
            self, name: str, incident_id: int | None = None, unit_id: int | None = None
        ) -> None:
            self.before, self.step = self.state, (name, incident_id, unit_id)

        def _unit(self, unit_id: int) -> dict[str, Any]:
            return dict(self.state["units"][unit_id])

        def _incident(self, incident_id: int) -> dict[str, Any] | None:
            found = self.state["incidents"].get(incident_id)
            return None if found is None else dict(found)

        # --- commands ---------------------------------------------------------------------

        @initialize(target=units)
        def first_unit(self) -> int:
            made: int = self.add_unit()  # type: ignore[assignment]  # a rule called directly
            return made

        @rule(target=incidents, grade=st.sampled_from(["I", "S", "E"]))
        def create_incident(self, grade: str) -> int:
            r = self.cathy.create(grade=grade, summary=f"Call {next(self.n)}: {_words()}")
            assert r.status_code == 201, r.text
            self._did("create", r.json()["id"])
            return int(r.json()["id"])

        @rule(target=units)
        def add_unit(self) -> int:
            r = self._post(
                self.sue,
                "/units",
                {"callsign": f"HX{next(self.n)}", "kind": "IRV", "borough": "Camden"},
            )
            assert r.status_code == 201, r.text
            self._did("add unit", None, r.json()["id"])
            return int(r.json()["id"])

        @rule(unit=units, incident=incidents)
        def assign(self, unit: int, incident: int) -> None:
            was = self._unit(unit)
            r = self._post(self.dan, f"/units/{unit}/assign", {"incident_id": incident})
            inc = self._incident(incident)
            closed = inc is None or inc["status"] == "CLOSED"
            assert r.status_code == (200 if was["status"] == "AVAILABLE" and not closed else 409), (
                r.text
            )
            self._did("assign", incident, unit)

        @rule(unit=units, incident=incidents)
        def divert(self, unit: int, incident: int) -> None:
            was = self._unit(unit)
            r = self._post(
                self.dan,
                f"/units/{unit}/divert",
                {"incident_id": incident, "reason": f"Needed more: {_words()}"},
            )
            inc = self._incident(incident)
            ok = (
                was["incident_id"] not in (None, incident)
                and inc is not None
                and inc["status"] != "CLOSED"
            )
            assert r.status_code == (200 if ok else 409), r.text
            self._did("divert" if ok else "refused", was["incident_id"], unit)

        @rule(unit=units)
        def arrive(self, unit: int) -> None:
            was = self._unit(unit)
            r = self._post(self.dan, f"/units/{unit}/arrive")
            assert r.status_code == (200 if was["status"] == "ASSIGNED" else 409), r.text
            self._did("arrive" if r.status_code == 200 else "refused", was["incident_id"], unit)

        @rule(unit=units, reason=st.booleans(), by=st.sampled_from(["dan", "sue", "cathy"]))
        def clear(self, unit: int, reason: bool, by: str) -> None:
            was = self._unit(unit)
            api = {"dan": self.dan, "sue": self.sue, "cathy": self.cathy}[by]
            r = self._post(
                api,
                f"/units/{unit}/clear",
                {"reason": f"Stood down: {_words()}"} if reason else None,
            )
            if by == "cathy":
                expected = 403
            elif was["status"] in ("AVAILABLE", "OFF_DUTY"):
                expected = 409
            elif was["status"] == "ASSIGNED" and not reason:
                expected = 422
            else:
                expected = 200
            assert r.status_code == expected, (was, reason, by, r.text)
            self._did("clear" if expected == 200 else "refused", was["incident_id"], unit)

        @rule(incident=incidents, status=st.sampled_from(STATUSES))
        def patch_status(self, incident: int, status: str) -> None:
            inc = self._incident(incident)
            if inc is None:
                return
            r = self.dan.patch(
                f"/incidents/{incident}",
                json={"status": status},
                headers={"If-Match": str(inc["version"])},
            )
            if inc["status"] == "CLOSED":
                assert r.status_code == 409, r.text
            elif status == inc["status"]:
                assert r.status_code == 200, r.text  # asks for no change
            else:  # the status always agrees with the units, so any other is against them
                assert r.status_code == 409, r.text
            self._did("patch", incident)

        @rule(incident=incidents, supervisor=st.booleans())
        def close(self, incident: int, supervisor: bool) -> None:
            inc = self._incident(incident)
            if inc is None:
                return
            r = self._post(
                self.sue if supervisor else self.dan,
                f"/incidents/{incident}/close",
                {"rationale": f"Officers reported {_words()} at the address"},
            )
            if inc["status"] == "CLOSED":
                expected = 409
            elif inc["owed"] and not supervisor:
                expected = 403
            else:
                expected = 200
            assert r.status_code == expected, r.text
            self._did("close" if expected == 200 else "refused", incident)

        @rule(minutes=st.sampled_from([1, 4, 9, 10, 30]))
        def time_passes(self, minutes: int) -> None:
            self.clock.advance(timedelta(minutes=minutes))
            self._did("time")

        # --- invariants ---------------------------------------------------------------------

        @invariant()
        def safety(self) -> None:
            self.state = now = self._read()
            before, (step, step_incident, _) = self.before, self.step
            t = self.clock.now()
            on: dict[int, list[dict[str, Any]]] = {}
            for u in now["units"].values():
                if u["incident_id"] is not None:
                    assert u["status"] in ("ASSIGNED", "AT_SCENE"), u
                    on.setdefault(u["incident_id"], []).append(u)
            tagged = {d["from_incident_id"] for d in now["tags"] if d["released_at"] is None}
            for iid, inc in now["incidents"].items():
                old = before["incidents"].get(iid)
                units_on = on.get(iid, [])
                if inc["status"] == "CLOSED":
                    assert not units_on and not inc["owed"], inc
                    continue
                # status agrees with the units
                assert inc["status"] == status_for_units(
                    (UnitStatus(u["status"]) for u in units_on),
                    attended=inc["attended_at"] is not None,
                ), (inc, units_on)
                # attended_at is set only by an arrival, there and then
                if inc["attended_at"] is not None and (
                    old is None or old["attended_at"] != inc["attended_at"]
                ):
                    assert (step, step_incident) == ("arrive", iid), (step, inc)
                    assert datetime.fromisoformat(inc["attended_at"]) == t
                # lost its last unit before that unit arrived: owed
                if old is not None:
                    gone = [
                        u
                        for u in before["units"].values()
                        if u["incident_id"] == iid and now["units"][u["id"]]["incident_id"] != iid
                    ]
                    if any(u["status"] == "ASSIGNED" for u in gone) and not units_on:
                        assert inc["owed"], (step, inc)
                    if step == "divert" and step_incident == iid:
                        assert inc["owed"], inc
                    # owed until an arrival there, or a close
                    if old["owed"] and not inc["owed"]:
                        assert (step, step_incident) == ("arrive", iid), (step, inc)
                if inc["owed"]:
                    # on the open DIVERT tag list
                    assert iid in tagged, (inc, now["tags"])
                # an owed incident with no unit escalates after the escalation time
                if inc["owed"] and not units_on:
                    since = self.unitless_since.setdefault(iid, t)
                    if t - since >= ESCALATION:
                        assert inc["escalated_at"] is not None, inc
                        assert datetime.fromisoformat(inc["escalated_at"]) == since + ESCALATION
                    else:
                        assert inc["escalated_at"] is None, inc
                else:
                    self.unitless_since.pop(iid, None)
                    assert inc["escalated_at"] is None, inc

    Desk.TestCase.settings = settings(
        max_examples=30,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    run_state_machine_as_test(Desk, settings=Desk.TestCase.settings)
