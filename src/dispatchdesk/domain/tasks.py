"""Tasks for the attending officers: what policy requires before an incident closes.

Every informant gives the attending officers a *contact the informant* task (the caller,
unless the caller is the victim, anonymous callers included; and each person named with the
role INFORMANT) on the incident types of the policy's list; domestic incident types also get
the domestic-abuse policy's required actions (check linked incidents, history check,
house-to-house enquiries, contact the reporting person). A task is OPEN until it is recorded
DONE (with what was found) or NOT_DONE (with why). An incident does not close with a task
open unless a supervisor records why.

The policy is the server's (``ServerSettings.task_policy``) and travels to desks in the
snapshot, so the queue can flag overdue tasks offline by the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dispatchdesk.domain.reference import list_key


class TaskKind(StrEnum):
    CONTACT_INFORMANT = "CONTACT_INFORMANT"
    CHECK_LINKED = "CHECK_LINKED"
    HISTORY_CHECK = "HISTORY_CHECK"
    HOUSE_TO_HOUSE = "HOUSE_TO_HOUSE"
    CONTACT_REPORTING_PERSON = "CONTACT_REPORTING_PERSON"

    @property
    def label(self) -> str:
        return _KIND_LABEL[self]


_KIND_LABEL = {
    TaskKind.CONTACT_INFORMANT: "Contact the informant",
    TaskKind.CHECK_LINKED: "Check linked incidents",
    TaskKind.HISTORY_CHECK: "History check",
    TaskKind.HOUSE_TO_HOUSE: "House-to-house enquiries",
    TaskKind.CONTACT_REPORTING_PERSON: "Contact the reporting person",
}

#: The domestic-abuse policy's required actions, in the order officers see them.
DOMESTIC_KINDS: tuple[TaskKind, ...] = (
    TaskKind.CHECK_LINKED,
    TaskKind.HISTORY_CHECK,
    TaskKind.HOUSE_TO_HOUSE,
    TaskKind.CONTACT_REPORTING_PERSON,
)


class TaskState(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"
    NOT_DONE = "NOT_DONE"

    @property
    def label(self) -> str:
        return {"OPEN": "open", "DONE": "done", "NOT_DONE": "not done"}[self.value]


@dataclass(frozen=True, slots=True)
class Task:
    """One task on an incident. ``by``/``at``: who recorded it done or not done, and when
    (null while OPEN); ``outcome`` (done) or ``reason`` (not done) says what they recorded."""

    id: int
    kind: TaskKind
    state: TaskState
    detail: str
    outcome: str | None = None
    reason: str | None = None
    by: str | None = None
    at: datetime | None = None

    @property
    def title(self) -> str:
        """``Contact the informant (Anon, 07700 900123)``, or the kind's label alone."""
        label = self.kind.label
        return f"{label} ({self.detail})" if self.detail else label


@dataclass(frozen=True, slots=True)
class Informant:
    """Someone who gave the police information: the caller, or a person named as INFORMANT.

    ``key`` tells informants apart on one incident (a task is made once per key)."""

    key: str
    name: str | None
    phone: str | None = None
    anonymous: bool = False

    @property
    def contact(self) -> str:
        """How the task names them: ``Anon, 07700 900123`` or ``Ann Smith, 07700 900123``."""
        who = "Anon" if self.anonymous else (self.name or "name not given")
        return f"{who}, {self.phone}" if self.phone else f"{who}, no phone given"


@dataclass(frozen=True, slots=True)
class RequiredTask:
    """A task policy requires: its kind, its detail, and its key on the incident."""

    kind: TaskKind
    detail: str
    key: str


#: Incident types on which a domestic-abuse policy applies, as shipped.
DEFAULT_DOMESTIC_TYPES: tuple[str, ...] = ("Domestic",)
#: Incident types on which every informant is contacted, as shipped (domestic ones included).
DEFAULT_INFORMANT_TYPES: tuple[str, ...] = (
    "Domestic",
    "Concern for welfare",
    "Missing person",
    "Harassment",
    "Stalking",
    "Breach of order",
    "Sexual offence",
    "Hate crime",
)


@dataclass(frozen=True)
class TaskPolicy:
    """Which incident types get which tasks, and when an open task is overdue."""

    informant_types: tuple[str, ...] = DEFAULT_INFORMANT_TYPES
    domestic_types: tuple[str, ...] = DEFAULT_DOMESTIC_TYPES
    #: An incident with a task still open this long after it was created is flagged overdue.
    overdue_after: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.overdue_after <= timedelta(0):
            raise ValueError("overdue_after must be positive")
        # domestic types always contact their informants
        missing = [
            t
            for t in self.domestic_types
            if list_key(t) not in {list_key(i) for i in self.informant_types}
        ]
        object.__setattr__(self, "informant_types", tuple(self.informant_types) + tuple(missing))

    def is_domestic(self, incident_type: str) -> bool:
        return list_key(incident_type) in {list_key(t) for t in self.domestic_types}

    def contacts_informants(self, incident_type: str) -> bool:
        return list_key(incident_type) in {list_key(t) for t in self.informant_types}

    def required(self, incident_type: str, informants: Iterable[Informant]) -> list[RequiredTask]:
        """The tasks an incident of ``incident_type`` with ``informants`` must have."""
        out: list[RequiredTask] = []
        if self.contacts_informants(incident_type):
            out += [
                RequiredTask(TaskKind.CONTACT_INFORMANT, i.contact, f"informant:{i.key}")
                for i in informants
            ]
        if self.is_domestic(incident_type):
            out += [RequiredTask(kind, "", kind.value) for kind in DOMESTIC_KINDS]
        return out


DEFAULT_TASK_POLICY = TaskPolicy()


def open_tasks(tasks: Sequence[Task]) -> list[Task]:
    return [t for t in tasks if t.state is TaskState.OPEN]


def tasks_overdue(
    tasks: Sequence[Task], created_at: datetime, now: datetime, policy: TaskPolicy
) -> bool:
    """An open task on an incident created longer ago than the policy allows."""
    return bool(open_tasks(tasks)) and now - created_at >= policy.overdue_after


def open_tasks_sentence(ref: str, tasks: Sequence[Task]) -> str:
    """The refusal of a close with tasks open, naming each."""
    named = "; ".join(t.title for t in tasks)
    n = len(tasks)
    return (
        f"{ref} has {n} task{'s' if n != 1 else ''} for the attending officers still open: "
        f"{named}. Record each as done (with what was found) or not done (with why) before "
        "closing; a supervisor may close it anyway with a rationale that says why."
    )
