"""Special schemes over HTTP: reviews that always land before expiry, the victim contact log
and what ending needs, and a scheme that is ended or expires being served nowhere (events,
changes, snapshot, warnings, schemes, audit), walked around from every side."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.domain.warnings import ReviewState, add_months
from dispatchdesk.server import EmbeddedServer, ServerSettings
from dispatchdesk.server.db import audit, make_engine
from dispatchdesk.server.features.warnings.tables import schemes

from .conftest import START, Api, Desk, login
from .helpers import Stream, refused

#: The scheme that is ended or expires: none of this may be served afterwards.
HIDDEN = {
    "uprn": "100000000007",
    "address": "Hidden Court, 7 Secret Row",
    "postcode": "E2 7QQ",
    "usrn": "22700077",
}
HIDDEN_SUMMARY = "Refuge address of a stalking victim; the ex-partner must never learn it"
HIDDEN_OFFICER = "DC 4321 Quill"
SECRETS = ("Hidden Court", "Secret Row", "Refuge address", "Quill")
#: A scheme that stays live: the same paths must still serve it (so the checks can fail).
KEPT = {"uprn": "100000000099", "address": "Open House, 9 Plain Street", "postcode": "E3 9AA"}
KEPT_SUMMARY = "Officer safety: dogs on the premises"


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def add_scheme(api: Api, expires: datetime, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "location": HIDDEN,
        "category": "VICTIM_AT_RISK",
        "summary": HIDDEN_SUMMARY,
        "officer_in_case": HIDDEN_OFFICER,
        "expires_at": expires.isoformat(),
    }
    body.update(over)
    r = api.post("/schemes", json=body, headers=key())
    assert r.status_code == 201, r.text
    return dict(r.json())


def add_kept(api: Api, expires: datetime) -> dict[str, Any]:
    return add_scheme(
        api,
        expires,
        location=KEPT,
        summary=KEPT_SUMMARY,
        category="OFFICER_SAFETY",
        officer_in_case="PC 77 Open",
    )


def contact(
    api: Api, sid: int, outcome: str, at: datetime | None = None, note: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"outcome": outcome}
    if at is not None:
        body["at"] = at.isoformat()
    if note is not None:
        body["note"] = note
    return api.post(f"/schemes/{sid}/victim-contact", json=body, headers=key())


def end(api: Api, sid: int, **over: Any) -> httpx.Response:
    return api.post(
        f"/schemes/{sid}/end", json={"reason": "Perpetrator remanded", **over}, headers=key()
    )


def live(api: Api, sid: int) -> dict[str, Any]:
    r = api.get(f"/schemes/{sid}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def audit_of(api: Api, sid: int) -> list[dict[str, Any]]:
    rows = api.get("/audit", params={"limit": 5000}).json()
    return [a for a in rows if a["entity"] == "scheme" and a["entity_id"] == sid]


@pytest.fixture
def long_desk(make_desk: Callable[..., Desk]) -> Desk:
    """Tokens that outlive a scheme's whole six months on the fake clock."""
    return make_desk(token_ttl=timedelta(days=400))


# --- reviews ---------------------------------------------------------------------------------


def test_entering_the_review_window_requests_the_first_stage_and_14_days_on_the_second(
    long_desk: Desk, clock: FakeClock
) -> None:
    desk = long_desk
    expires = START + timedelta(days=90)
    s = add_scheme(desk.sue, expires)
    assert s["review_state"] == "ACTIVE" and s["review_requested_at"] is None
    clock.set(expires - timedelta(days=28, minutes=1))
    assert live(desk.dan, s["id"])["review_state"] == "ACTIVE"
    clock.set(expires - timedelta(days=28))
    got = live(desk.dan, s["id"])  # a read sweeps
    assert got["review_state"] == "FIRST_STAGE"
    assert datetime.fromisoformat(got["review_requested_at"]) == clock.now()
    # a supervisor asking again is told it is already requested
    r = desk.sue.post(f"/schemes/{s['id']}/review-request", json={}, headers=key())
    assert r.status_code == 409 and "already requested" in r.json()["detail"]
    clock.set(expires - timedelta(days=14, minutes=1))
    assert live(desk.dan, s["id"])["review_state"] == "FIRST_STAGE"
    clock.set(expires - timedelta(days=14))
    got = live(desk.dan, s["id"])
    assert got["review_state"] == "SECOND_STAGE" and got["escalated_at"] is not None
    rows = [a for a in audit_of(desk.sue, s["id"]) if a["username"] == "system"]
    assert [a["action"] for a in rows] == ["escalate_scheme_review", "request_scheme_review"]
    assert rows[1]["detail"].startswith(
        f"scheme {s['id']} (VICTIM_AT_RISK) v2: first-stage review requested automatically"
    )
    # no decision: it expires, and the audit says so by id and category only
    clock.set(expires)
    assert desk.dan.get(f"/schemes/{s['id']}").status_code == 404
    [gone] = [a for a in audit_of(desk.sue, s["id"]) if a["action"] == "expire_scheme"]
    assert gone["detail"].startswith(
        f"scheme {s['id']} (VICTIM_AT_RISK) expired with no review decision; the victim was "
        "not told of its removal"
    )


@pytest.mark.parametrize(
    "run",
    [
        timedelta(hours=1),
        timedelta(days=1),
        timedelta(days=10),
        timedelta(days=27),
        timedelta(days=28),
        timedelta(days=29),
        timedelta(days=45),
        timedelta(days=90),
    ],
)
def test_the_second_stage_always_lands_before_expiry(
    long_desk: Desk, clock: FakeClock, run: timedelta
) -> None:
    desk = long_desk
    s = add_scheme(desk.sue, START + run)
    expires = START + run
    first = second = None
    step = run / 60
    while clock.now() < expires:
        got = live(desk.dan, s["id"])
        if first is None and got["review_state"] == "FIRST_STAGE":
            first = clock.now()
        if second is None and got["review_state"] == "SECOND_STAGE":
            second = clock.now()
            assert got["escalated_at"] is not None
        clock.advance(step)
    assert first is not None and second is not None, (first, second)
    assert first <= max(START, expires - timedelta(days=28)) + step
    # the second stage has at least as long as the first (half of what was left, at most
    # 14 days after the request), and always before expiry
    assert second < expires
    assert expires - second >= min(timedelta(days=14), (expires - first) / 2) - step


def test_an_extension_decides_the_review_and_inside_the_window_asks_again(
    long_desk: Desk, clock: FakeClock
) -> None:
    desk = long_desk
    s = add_scheme(desk.sue, START + timedelta(days=10))
    assert s["review_state"] == "FIRST_STAGE"  # added inside the window: requested at once
    clock.advance(timedelta(days=6))
    assert live(desk.dan, s["id"])["review_state"] == "SECOND_STAGE"  # halfway: day 5
    # extended by 20 days from now: still inside the window, so reviewed again at once
    new_expiry = clock.now() + timedelta(days=20)
    r = desk.sue.post(
        f"/schemes/{s['id']}/extend", headers=key(), json={"expires_at": new_expiry.isoformat()}
    )
    assert r.status_code == 200, r.text
    assert r.json()["review_state"] == "FIRST_STAGE" and r.json()["escalated_at"] is None
    clock.advance(timedelta(days=10))
    assert live(desk.dan, s["id"])["review_state"] == "SECOND_STAGE"
    # extended well beyond the window: no review pending until it enters the window again
    r = desk.sue.post(
        f"/schemes/{s['id']}/extend",
        headers=key(),
        json={"expires_at": add_months(clock.now(), 6).isoformat()},
    )
    assert r.json()["review_state"] == "ACTIVE" and r.json()["review_requested_at"] is None


# --- victim contact and ending ---------------------------------------------------------------


def test_victim_contact_is_a_log_and_the_old_command_adds_to_it(
    desk: Desk, clock: FakeClock
) -> None:
    s = add_scheme(
        desk.sue,
        START + timedelta(days=60),
        victim_informed_at=(START - timedelta(hours=2)).isoformat(),
    )
    [outset] = s["victim_contacts"]
    assert outset["outcome"] == "INFORMED" and outset["by"] == "sue"
    clock.advance(timedelta(days=1))
    r = contact(
        desk.sue,
        s["id"],
        "NO_CONTACT",
        clock.now() - timedelta(hours=1),
        "No answer on her mobile; voicemail left",
    )
    assert r.status_code == 200, r.text
    assert r.json()["victim_informed_at"] == outset["at"]  # a failed attempt is not "told"
    r = desk.sue.post(f"/schemes/{s['id']}/victim-informed", headers=key(), json={})
    assert r.status_code == 200
    contacts = r.json()["victim_contacts"]
    assert [c["outcome"] for c in contacts] == ["INFORMED", "NO_CONTACT", "INFORMED"]
    assert contacts[1]["note"] == "No answer on her mobile; voicemail left"
    assert r.json()["victim_informed_at"] == contacts[2]["at"]
    # not in the future; not by other roles
    r = contact(desk.sue, s["id"], "INFORMED", clock.now() + timedelta(hours=1))
    assert r.status_code == 422 and "future" in r.json()["detail"]
    for other in (desk.dan, desk.cathy):
        assert contact(other, s["id"], "INFORMED").status_code == 403
    assert contact(desk.sue, s["id"], "MAYBE").status_code == 422
    # the audit keeps the note out (it is in the log) and names the scheme by id and category
    rows = [
        a
        for a in audit_of(desk.sue, s["id"])
        if a["action"] in ("scheme_victim_contact", "scheme_victim_informed")
    ]
    assert [a["detail"].split(":")[0] for a in rows] == [
        f"scheme {s['id']} (VICTIM_AT_RISK) v3",
        f"scheme {s['id']} (VICTIM_AT_RISK) v2",
    ]
    assert all("voicemail" not in a["detail"] for a in rows)


def test_ending_needs_the_victim_told_or_a_failed_attempt_since_the_review(
    desk: Desk, clock: FakeClock
) -> None:
    s = add_scheme(desk.sue, START + timedelta(days=40), victim_informed_at=START.isoformat())
    assert s["removal_notice"] is False and s["victim_contacts"][0]["outset"] is True
    # the notice given at the outset does not count as notice of the removal
    r = end(desk.sue, s["id"])
    assert r.status_code == 409
    assert (
        "Tell the victim the scheme is being removed, or record a failed attempt, then "
        "end it; a supervisor may end it anyway with a rationale" in r.json()["detail"]
    )
    clock.advance(timedelta(days=11))  # 29 days left
    assert contact(desk.sue, s["id"], "INFORMED").status_code == 200
    clock.advance(timedelta(days=1))  # enters the window: the review is requested
    assert live(desk.dan, s["id"])["review_state"] == "FIRST_STAGE"
    # told before the review was requested: not notice of this removal
    assert end(desk.sue, s["id"]).status_code == 409
    # backdated to before the review request: still not
    assert (
        contact(desk.sue, s["id"], "INFORMED", clock.now() - timedelta(hours=1)).status_code == 200
    )
    assert end(desk.sue, s["id"]).status_code == 409
    # another role cannot end it at all, override or not
    assert end(desk.dan, s["id"], override_rationale="x" * 40).status_code == 403
    assert live(desk.dan, s["id"])["removal_notice"] is False  # the desk can tell first
    r = contact(desk.sue, s["id"], "NO_CONTACT", note="Moved away, no forwarding number")
    assert r.status_code == 200 and r.json()["removal_notice"] is True
    r = end(desk.sue, s["id"])
    assert r.status_code == 200, r.text
    refused = [a for a in audit_of(desk.sue, s["id"]) if a["action"] == "refused_end_scheme"]
    assert len(refused) == 3
    [ended] = [a for a in audit_of(desk.sue, s["id"]) if a["action"] == "end_scheme"]
    assert ended["detail"].startswith(
        f"scheme {s['id']} (VICTIM_AT_RISK) ended: Perpetrator "
        "remanded; victim contact NO_CONTACT at "
    )


def test_a_supervisor_may_end_without_contact_with_a_rationale(desk: Desk) -> None:
    s = add_scheme(desk.sue, START + timedelta(days=100))
    r = end(desk.sue, s["id"], override_rationale="urgent")
    # the one rationale check of every path: refused (422), saying why, naming the field
    assert "too short" in refused(r, "override_rationale")
    r = end(desk.sue, s["id"], override_rationale="   ")
    assert r.status_code == 409
    why = (
        "Victim died on 20 Nov; family liaison officer confirmed there is nobody left at the "
        "address to tell"
    )
    r = end(desk.sue, s["id"], override_rationale=why)
    assert r.status_code == 200, r.text
    [ended] = [a for a in audit_of(desk.sue, s["id"]) if a["action"] == "end_scheme"]
    assert "ended on the supervisor's rationale: " + why in ended["detail"]
    assert desk.dan.get(f"/schemes/{s['id']}").status_code == 404


def test_a_contact_then_an_extension_needs_a_new_contact_to_end(
    desk: Desk, clock: FakeClock
) -> None:
    s = add_scheme(desk.sue, START + timedelta(days=100))
    assert contact(desk.sue, s["id"], "INFORMED").status_code == 200
    clock.advance(timedelta(minutes=5))
    r = desk.sue.post(
        f"/schemes/{s['id']}/extend",
        headers=key(),
        json={"expires_at": (START + timedelta(days=150)).isoformat()},
    )
    assert r.status_code == 200
    assert end(desk.sue, s["id"]).status_code == 409
    assert contact(desk.sue, s["id"], "INFORMED").status_code == 200
    assert end(desk.sue, s["id"]).status_code == 200


# --- served nowhere after ending or expiry ---------------------------------------------------


def _events(http: httpx.Client, api: Api, head: int, **resume: Any) -> str:
    """Every event from the resume point up to ``head``, as text."""
    s = Stream(http, api.token or "", **resume)
    got = []
    last = -1
    while last < head:
        [c] = s.changes(1)
        got.append(c)
        last = c.seq
    s.close()
    return json.dumps([c.model_dump(mode="json") for c in got])


def _changes_paged(api: Api, limit: int) -> str:
    pages, since = [], 0
    while True:
        page = api.get("/changes", params={"since": since, "limit": limit}).json()
        pages.append(page)
        since = page["cursor"]
        if not page["more"]:
            return json.dumps(pages)


def _assert_hidden(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} served by {where}"


@pytest.mark.parametrize("how", ["ended", "expired"])
def test_an_ended_or_expired_scheme_is_served_nowhere(
    settings: ServerSettings, clock: FakeClock, how: str
) -> None:
    with EmbeddedServer(settings) as srv, httpx.Client(base_url=srv.url, timeout=10) as http:
        sue, dan, cathy = (login(http, n) for n in ("sue", "dan", "cathy"))
        before = int(dan.get("/snapshot").json()["cursor"])
        # a desk connected while it ends: its stream (and the server's shared window of
        # recent events, started by this first change) hold the text
        desk = Stream(http, dan.token or "", params={"since": before})
        cathy.create(summary="Starts the shared window")
        desk.changes(1)
        kept = add_kept(sue, START + timedelta(days=120))
        hidden = add_scheme(sue, START + timedelta(hours=2))
        created = before + 3  # the hidden scheme's upsert
        inc = cathy.create(
            location={
                "address": "Flat 3, 7 The Row",
                "uprn": "100000000008",
                "parent_uprn": HIDDEN["uprn"],
                "postcode": "E2 7QQ",
                "borough": "Hackney",
            }
        ).json()
        for verb in ("shown", "acknowledge"):
            assert (
                cathy.post(
                    f"/warnings/scheme/{hidden['id']}/{verb}", json={"incident_id": inc["id"]}
                ).status_code
                == 200
            )
        seen = desk.changes(3)
        assert HIDDEN_SUMMARY in json.dumps([c.model_dump(mode="json") for c in seen])
        told = {"Idempotency-Key": uuid.uuid4().hex}
        if how == "ended":
            assert (
                sue.post(
                    f"/schemes/{hidden['id']}/victim-contact",
                    headers=told,
                    json={"outcome": "INFORMED"},
                ).status_code
                == 200
            )
            [_contacted] = desk.changes(1)
            assert end(sue, hidden["id"]).status_code == 200
        else:
            clock.advance(timedelta(hours=2))
            # nothing has swept yet: the stream, resumed, must not serve it either
            for api in (dan, cathy):
                _assert_hidden(
                    _events(http, api, created, **{"Last-Event-ID": str(created - 1)}),
                    "events before the sweep",
                )
            assert dan.get("/snapshot").status_code == 200  # a read sweeps
        [gone] = [c for c in desk.changes(1)]
        assert (gone.entity, gone.op, gone.data) == ("scheme", "delete", {"id": hidden["id"]})
        desk.close()
        head = int(dan.get("/snapshot").json()["cursor"])
        for api in (dan, cathy, sue):  # every role, every way in
            resumes: list[dict[str, Any]] = [
                {"params": {"since": 0}},
                {"Last-Event-ID": str(created - 1)},
                {"Last-Event-ID": str(before)},
                {"params": {"since": created - 1}},
            ]
            for n, resume in enumerate(resumes):
                text = _events(http, api, head, **resume)
                _assert_hidden(text, f"events {resume}")
                if n == 0:
                    assert KEPT_SUMMARY in text
            for limit in (1, 2, 1000):
                text = _changes_paged(api, limit)
                _assert_hidden(text, f"changes limit {limit}")
                assert KEPT_SUMMARY in text
            snap = api.get("/snapshot").json()
            assert [s["id"] for s in snap["schemes"]] == [kept["id"]]
            _assert_hidden(json.dumps(snap), "snapshot")
            for params in (
                {"uprn": HIDDEN["uprn"]},
                {"address": HIDDEN["address"]},
                {"incident_id": inc["id"]},
                {"uprn": "100000000008", "parent_uprn": HIDDEN["uprn"]},
            ):
                r = api.get("/warnings", params=params)
                assert r.status_code == 200 and r.json()["warnings"] == [], params
            assert [
                w["scheme"]["id"]
                for w in api.get("/warnings", params={"uprn": KEPT["uprn"]}).json()["warnings"]
            ] == [kept["id"]]
            for state in [None, *ReviewState]:
                r = api.get("/schemes", params={"state": state} if state else {})
                assert r.status_code == 200
                _assert_hidden(r.text, f"/schemes?state={state}")
            assert [s["id"] for s in api.get("/schemes").json()] == [kept["id"]]
            assert api.get(f"/schemes/{hidden['id']}").status_code == 404
        # the audit names it by id and category only, every row of it
        rows = sue.get("/audit", params={"limit": 5000}).json()
        _assert_hidden(json.dumps(rows), "audit")
        mine = [a for a in rows if a["entity"] == "scheme" and a["entity_id"] == hidden["id"]]
        assert {a["action"] for a in mine} >= {
            "create_scheme",
            "warning_shown",
            "warning_acknowledged",
            f"{'end' if how == 'ended' else 'expire'}_scheme",
        }
        assert all(
            a["detail"].startswith(f"scheme {hidden['id']} (VICTIM_AT_RISK)") for a in mine
        ), [a["detail"] for a in mine]
        if how == "ended":  # the contact resent (its reply held the text): gone, no text
            r = sue.post(
                f"/schemes/{hidden['id']}/victim-contact",
                headers=told,
                json={"outcome": "INFORMED"},
            )
            assert r.status_code == 410
            _assert_hidden(r.text, "a resent command")
        # a command on it is refused without its text
        r = sue.post(
            f"/schemes/{hidden['id']}/victim-contact", json={"outcome": "INFORMED"}, headers=key()
        )
        assert r.status_code == 404
        _assert_hidden(r.text, "a command on it")


def test_audit_rows_written_before_the_rule_are_redacted_on_read(
    desk: Desk, settings: ServerSettings
) -> None:
    engine = make_engine(settings.db_url)
    with engine.begin() as conn:
        conn.execute(
            audit.insert(),
            [
                {
                    "at": START,
                    "username": "sue",
                    "action": "create_scheme",
                    "entity": "scheme",
                    "entity_id": 41,
                    "detail": "VICTIM_AT_RISK at Hidden Court, 7 Secret Row, "
                    "expires 2027-01-01T00:00:00+00:00",
                },
                {
                    "at": START,
                    "username": "import",
                    "action": "create_scheme",
                    "entity": "scheme",
                    "entity_id": 42,
                    "detail": "OFFICER_SAFETY at Hidden Court, 7 Secret Row, expires "
                    "2027-01-01T00:00:00+00:00 (import schemes.csv line 3)",
                },
                {
                    "at": START,
                    "username": "sue",
                    "action": "create_scheme",
                    "entity": "scheme",
                    "entity_id": 43,
                    "detail": "Hidden Court, 7 Secret Row in some older wording",
                },
            ],
        )
    engine.dispose()
    rows = desk.sue.get("/audit", params={"entity": "scheme"}).json()
    _assert_hidden(json.dumps(rows), "audit")
    assert [a["detail"] for a in rows[:3]] == [
        "scheme 43: created (details withheld: recorded before schemes were audited by id and "
        "category only)",
        "scheme 42 (OFFICER_SAFETY) created, expires 2027-01-01T00:00:00+00:00 "
        "(import schemes.csv line 3)",
        "scheme 41 (VICTIM_AT_RISK) created, expires 2027-01-01T00:00:00+00:00",
    ]


def test_a_review_requested_before_the_due_time_was_stored_still_escalates(
    make_desk: Callable[..., Desk], settings: ServerSettings, clock: FakeClock
) -> None:
    engine = make_engine(settings.db_url)
    with engine.begin() as conn:  # as an older server left it: no escalation_due_at
        conn.execute(
            schemes.insert().values(
                id=7,
                version=3,
                location=HIDDEN,
                uprn=HIDDEN["uprn"],
                category="VICTIM_AT_RISK",
                summary=HIDDEN_SUMMARY,
                officer_in_case=HIDDEN_OFFICER,
                starts_at=START - timedelta(days=100),
                expires_at=START + timedelta(days=20),
                review_requested_at=START - timedelta(days=8),
                created_at=START - timedelta(days=100),
                updated_at=START - timedelta(days=8),
            )
        )
    engine.dispose()
    desk = make_desk()
    assert live(desk.dan, 7)["review_state"] == "FIRST_STAGE"
    clock.advance(timedelta(days=6))  # 14 days after the request
    got = live(desk.dan, 7)
    assert got["review_state"] == "SECOND_STAGE" and got["escalated_at"] is not None
