"""The task policy, pure: which tasks an incident gets, when open ones are overdue, and the
sentence that refuses a close."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatchdesk.domain.tasks import (
    DOMESTIC_KINDS,
    Informant,
    Task,
    TaskKind,
    TaskPolicy,
    TaskState,
    open_tasks_sentence,
    tasks_overdue,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ANON = Informant("caller", None, "07700 900123", anonymous=True)


def test_domestic_types_always_contact_their_informants() -> None:
    policy = TaskPolicy(informant_types=("Harassment",), domestic_types=("Domestic abuse",))
    assert policy.contacts_informants("domestic  ABUSE")
    kinds = [r.kind for r in policy.required("Domestic abuse", [ANON])]
    assert kinds == [TaskKind.CONTACT_INFORMANT, *DOMESTIC_KINDS]
    assert [r.kind for r in policy.required("harassment", [ANON])] == [TaskKind.CONTACT_INFORMANT]
    assert policy.required("Burglary", [ANON]) == []


def test_each_informant_once_and_anon_named_so() -> None:
    named = Informant("person:joe|None", "Joe Bloggs")
    [anon, joe] = TaskPolicy().required("Stalking", [ANON, named])
    assert anon.detail == "Anon, 07700 900123" and anon.key == "informant:caller"
    assert joe.detail == "Joe Bloggs, no phone given"
    assert len({r.key for r in TaskPolicy().required("Domestic", [ANON, named])}) == 6


def test_overdue_only_with_an_open_task_once_the_policys_time_has_passed() -> None:
    policy = TaskPolicy(overdue_after=timedelta(hours=24))
    open_one = (Task(1, TaskKind.HOUSE_TO_HOUSE, TaskState.OPEN, ""),)
    done = (Task(1, TaskKind.HOUSE_TO_HOUSE, TaskState.DONE, "", outcome="x", by="d", at=T0),)
    later = T0 + timedelta(hours=24)
    assert not tasks_overdue(open_one, T0, later - timedelta(seconds=1), policy)
    assert tasks_overdue(open_one, T0, later, policy)
    assert not tasks_overdue(done, T0, later, policy)
    with pytest.raises(ValueError, match="positive"):
        TaskPolicy(overdue_after=timedelta(0))


def test_the_refusal_names_each_open_task() -> None:
    tasks = [
        Task(1, TaskKind.CONTACT_INFORMANT, TaskState.OPEN, "Anon, 07700 900123"),
        Task(2, TaskKind.HISTORY_CHECK, TaskState.OPEN, ""),
    ]
    said = open_tasks_sentence("CAD 0001/23NOV26", tasks)
    assert said.startswith("CAD 0001/23NOV26 has 2 tasks for the attending officers still open")
    assert "Contact the informant (Anon, 07700 900123); History check." in said
    assert "1 task for" in open_tasks_sentence("X", tasks[:1])
