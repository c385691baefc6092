"""The status follows the units: what the units on an incident say, and which status edits
that leaves (none that sets AT_SCENE; only the one the units say)."""

from __future__ import annotations

import itertools

import pytest

from dispatchdesk.domain.incident import IncidentStatus, status_change_problem, status_for_units
from dispatchdesk.domain.unit import UnitStatus

OPEN, ASSIGNED, AT_SCENE = IncidentStatus.OPEN, IncidentStatus.ASSIGNED, IncidentStatus.AT_SCENE
GOING, THERE = UnitStatus.ASSIGNED, UnitStatus.AT_SCENE


@pytest.mark.parametrize(
    ("units", "attended", "expected"),
    [
        ((), False, OPEN),
        ((), True, AT_SCENE),  # attended, everyone gone: waits to be closed
        ((GOING,), False, ASSIGNED),
        ((GOING,), True, ASSIGNED),  # attended before, a unit sent again
        ((GOING, THERE), True, AT_SCENE),
        ((THERE,), True, AT_SCENE),
    ],
)
def test_status_for_units(units, attended, expected):
    assert status_for_units(units, attended) is expected


UNIT_SETS = [(), (("LX21", GOING),), (("LX21", THERE),), (("LX21", THERE), ("LX22", GOING))]


@pytest.mark.parametrize(
    ("units", "attended", "current", "wanted"),
    [
        (units, attended, current, wanted)
        for units, attended, current, wanted in itertools.product(
            UNIT_SETS, (False, True), (OPEN, ASSIGNED, AT_SCENE), (OPEN, ASSIGNED, AT_SCENE)
        )
        if current is not wanted
    ],
)
def test_only_the_status_the_units_say_and_never_at_scene(units, attended, current, wanted):
    problem = status_change_problem("CAD 1/23NOV26", current, wanted, units, attended)
    says = status_for_units((s for _, s in units), attended)
    if wanted is AT_SCENE or wanted is not says:
        assert problem is not None and problem.startswith("CAD 1/23NOV26")
        assert "POST /" in problem  # names the command to use
    else:
        assert problem is None


def test_messages_name_the_units_and_the_command():
    problem = status_change_problem("CAD 1", ASSIGNED, AT_SCENE, [("LX21", GOING)], False)
    assert problem is not None and "LX21" in problem and "/units/{id}/arrive" in problem
    problem = status_change_problem(
        "CAD 1", AT_SCENE, OPEN, [("LX21", THERE), ("LX22", GOING)], True
    )
    assert problem is not None and "LX21 and LX22" in problem and "/clear" in problem
    assert status_change_problem("CAD 1", OPEN, OPEN, [], False) is None  # no change asked
