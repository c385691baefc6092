"""The change log is the truth: folding it from zero gives exactly what the server holds."""

from __future__ import annotations

import random
from typing import Any

from dispatchdesk.domain.clock import FakeClock

from .conftest import Desk

GRADES = ["I", "S", "E", "R"]
STATUSES = ["OPEN", "ASSIGNED", "AT_SCENE"]


def test_fold_of_changes_equals_snapshot_and_reads(desk: Desk, clock: FakeClock) -> None:
    rng = random.Random(20261123)
    ids: list[int] = []
    outcomes: dict[int, int] = {}
    for step in range(60):
        clock.advance(rng.randint(1, 120))
        roll = rng.random()
        if roll < 0.3 or not ids:
            r = desk.cathy.create(grade=rng.choice(GRADES), summary=f"Call at step {step}")
            ids.append(r.json()["id"])
        else:
            target = rng.choice(ids)
            current = desk.dan.get(f"/incidents/{target}").json()
            if roll < 0.85:
                body: dict[str, Any] = rng.choice(
                    [
                        {"grade": rng.choice(GRADES), "reason": f"Reassessed at step {step}"},
                        {"status": rng.choice(STATUSES)},
                        {"summary": f"Update at step {step}"},
                    ]
                )
                version = current["version"] - (1 if rng.random() < 0.1 else 0)
                r = desk.dan.patch(
                    f"/incidents/{target}", json=body, headers={"If-Match": str(version)}
                )
            else:
                r = desk.dan.post(
                    f"/incidents/{target}/close",
                    json={
                        "rationale": f"Step {step}: unit {rng.randint(100, 999)} attended "
                        f"{target} and found {rng.choice(['no one', 'a friend', 'a fox'])}"
                    },
                    headers={"Idempotency-Key": f"close-{step}"},
                )
        outcomes[r.status_code] = outcomes.get(r.status_code, 0) + 1
    assert outcomes.get(200, 0) > 10 and outcomes.get(201, 0) > 10
    assert set(outcomes) <= {200, 201, 202, 409, 412}  # 202: a downgrade request

    folded: dict[int, dict[str, Any]] = {}
    cursor, more = 0, True
    while more:
        page = desk.sue.get(f"/changes?since={cursor}&limit=7").json()
        for change in page["changes"]:
            assert change["seq"] == cursor + 1
            cursor = change["seq"]
            previous = folded.get(change["data"]["id"])
            assert previous is None or change["data"]["version"] == previous["version"] + 1
            folded[change["data"]["id"]] = change["data"]
        more = page["more"]
    snap = desk.sue.get("/snapshot").json()
    assert snap["cursor"] == cursor
    assert sorted(folded) == sorted(ids)
    for inc in snap["incidents"]:
        assert folded[inc["id"]] == inc
    for incident_id in ids:
        assert desk.sue.get(f"/incidents/{incident_id}").json() == folded[incident_id]
