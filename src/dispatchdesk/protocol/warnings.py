"""Wire models of special schemes, protective orders and warnings (sync contract v1).

Independent of :mod:`dispatchdesk.protocol.schemas` (which imports these for the snapshot).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal, Protocol, TypeVar

from pydantic import AwareDatetime, BaseModel, Field

from dispatchdesk.domain.warnings import (
    DEFAULT_WARNING_POLICY,
    MATCH_RANK,
    SEVERITY_RANK,
    MatchKind,
    OrderType,
    Person,
    Place,
    ReviewState,
    SchemeCategory,
    Severity,
    VictimContactOutcome,
    WarningPolicy,
    expiry_wording,
    match_person,
    match_place,
    order_severity,
    scheme_live,
    scheme_severity,
)
from dispatchdesk.protocol.base import RESPONSE_CONFIG, NonBlank, StrictWire, Uprn, Wire

Text = NonBlank


class PlaceModel(StrictWire):
    """A marked location. Any of the identifiers may be missing; the address is always given."""

    address: Text
    postcode: str | None = Field(default=None, max_length=10)
    uprn: Uprn = None
    parent_uprn: Uprn = None
    usrn: Uprn = None


class PlaceOut(PlaceModel):
    """A marked location as the server sends it: unknown fields are ignored
    (:data:`~dispatchdesk.protocol.base.RESPONSE_CONFIG`)."""

    model_config = RESPONSE_CONFIG


class PersonModel(StrictWire):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    dob: date | None = None


class PersonOut(PersonModel):
    """A person as the server sends it: unknown fields are ignored."""

    model_config = RESPONSE_CONFIG


# --- schemes ------------------------------------------------------------------------------


class SchemeCreate(StrictWire):
    location: PlaceModel
    category: SchemeCategory
    summary: Text
    officer_in_case: Annotated[str, Field(min_length=1, max_length=200)]
    #: Defaults to now; never in the future.
    starts_at: AwareDatetime | None = None
    #: At most six months after ``starts_at`` (server policy).
    expires_at: AwareDatetime
    victim_informed_at: AwareDatetime | None = None


class SchemeExtend(StrictWire):
    #: At most six months after now (the extension).
    expires_at: AwareDatetime
    note: str | None = Field(default=None, max_length=2000)


class SchemeEnd(StrictWire):
    reason: Text
    #: A supervisor ending the scheme although the victim has not been told of the removal
    #: and no failed attempt is recorded: why (checked like any rationale).
    override_rationale: str | None = Field(default=None, max_length=2000)


class SchemeReviewRequest(StrictWire):
    note: str | None = Field(default=None, max_length=2000)


class SchemeVictimInformed(StrictWire):
    #: When the victim was told; defaults to now.
    at: AwareDatetime | None = None
    note: str | None = Field(default=None, max_length=2000)


class SchemeVictimContact(StrictWire):
    """One entry of a scheme's victim contact log."""

    outcome: VictimContactOutcome
    note: str | None = Field(default=None, max_length=2000)
    #: When the contact (or the failed attempt) happened; defaults to now, never later.
    at: AwareDatetime | None = None


class VictimContactOut(Wire):
    outcome: VictimContactOutcome
    note: str | None = None
    at: AwareDatetime
    #: Who recorded it, and when.
    by: str
    recorded_at: AwareDatetime
    #: The notice given with the new scheme (it never counts as notice of the removal).
    outset: bool = False


class SchemeOut(Wire):
    id: int
    version: int
    location: PlaceOut
    category: SchemeCategory
    summary: str
    officer_in_case: str
    starts_at: AwareDatetime
    expires_at: AwareDatetime
    #: The last extension (the six-month rule counts from it), if any.
    extended_at: AwareDatetime | None = None
    #: As at the server time of the response that carried it (the client recomputes it).
    review_state: ReviewState
    review_requested_at: AwareDatetime | None = None
    escalated_at: AwareDatetime | None = None
    #: The latest INFORMED contact of the log (kept for older clients).
    victim_informed_at: AwareDatetime | None = None
    #: The victim contact log, oldest first.
    victim_contacts: list[VictimContactOut] = []
    #: Whether the log has an entry (told, or a failed attempt) since the last review request
    #: or extension (or since it was added, the outset notice aside): ending the scheme needs
    #: one, or a supervisor's rationale. None from a server that does not say.
    removal_notice: bool | None = None


# --- orders -------------------------------------------------------------------------------


class OrderCreate(StrictWire):
    order_type: OrderType
    subject: PersonModel
    protected_persons: list[PersonModel] = []
    locations: list[PlaceModel] = []
    conditions: Text
    issued_on: date
    #: Null: until further order.
    expires_on: date | None = None
    source_ref: Annotated[str, Field(min_length=1, max_length=100)]


class OrderPatch(StrictWire):
    """An order's fields to change, sent with ``If-Match: <version>``."""

    order_type: OrderType | None = None
    subject: PersonModel | None = None
    protected_persons: list[PersonModel] | None = None
    locations: list[PlaceModel] | None = None
    conditions: str | None = Field(default=None, min_length=1, max_length=2000)
    issued_on: date | None = None
    #: Sent as null: until further order.
    expires_on: date | None = None
    source_ref: str | None = Field(default=None, min_length=1, max_length=100)


class OrderOut(Wire):
    id: int
    version: int
    order_type: OrderType
    subject: PersonOut
    protected_persons: list[PersonOut] = []
    locations: list[PlaceOut] = []
    conditions: str
    issued_on: date
    expires_on: date | None = None
    source_ref: str


# --- warnings -----------------------------------------------------------------------------


class WarningPolicyModel(Wire):
    """The server's warning windows, sent in the snapshot so offline matching agrees."""

    timezone: str
    order_heightened_before_days: int
    order_heightened_after_days: int
    scheme_max_months: int
    review_window_seconds: int
    escalate_after_seconds: int
    address_similarity: float

    @classmethod
    def from_policy(cls, p: WarningPolicy) -> WarningPolicyModel:
        return cls(
            timezone=p.timezone,
            order_heightened_before_days=p.order_heightened_before_days,
            order_heightened_after_days=p.order_heightened_after_days,
            scheme_max_months=p.scheme_max_months,
            review_window_seconds=int(p.review_window.total_seconds()),
            escalate_after_seconds=int(p.escalate_after.total_seconds()),
            address_similarity=p.address_similarity,
        )

    def to_policy(self) -> WarningPolicy:
        return WarningPolicy(
            timezone=self.timezone,
            order_heightened_before_days=self.order_heightened_before_days,
            order_heightened_after_days=self.order_heightened_after_days,
            scheme_max_months=self.scheme_max_months,
            review_window=timedelta(seconds=self.review_window_seconds),
            escalate_after=timedelta(seconds=self.escalate_after_seconds),
            address_similarity=self.address_similarity,
        )


class WarningOut(Wire):
    kind: Literal["scheme", "order"]
    severity: Severity
    #: How it matched: uprn, parent_uprn, child_uprn, street_house, same_block, address,
    #: person, name, same_address.
    match: str
    #: A weak match, to be shown as a *possible match* (never hidden).
    possible: bool
    #: What matched: "location", "subject", "protected_person".
    matched_on: str
    #: A line for the operator, e.g. "Non-molestation order: expires TOMORROW 24 Nov".
    text: str
    scheme: SchemeOut | None = None
    order: OrderOut | None = None

    @property
    def entity_id(self) -> int:
        """The scheme's or order's id (0 with neither): not a field, never sent."""
        entity = self.scheme or self.order
        return entity.id if entity is not None else 0

    @property
    def version(self) -> int:
        """The scheme's or order's version (0 with neither): not a field, never sent."""
        entity = self.scheme or self.order
        return entity.version if entity is not None else 0


class WarningView(Protocol):
    """A warning as the desk reads it: a :class:`WarningOut` (the server's, the reference
    matcher's) or the client index's own (``cache.indexed_warning.IndexedWarning``, which
    unpacks its scheme or order only when ``scheme`` / ``order`` is read). Read-only."""

    @property
    def kind(self) -> Literal["scheme", "order"]: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def match(self) -> str: ...
    @property
    def possible(self) -> bool: ...
    @property
    def matched_on(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def scheme(self) -> SchemeOut | None: ...
    @property
    def order(self) -> OrderOut | None: ...
    @property
    def entity_id(self) -> int: ...
    @property
    def version(self) -> int: ...


WarningT = TypeVar("WarningT", bound=WarningView)


class WarningsPage(Wire):
    server_time: AwareDatetime
    #: Most severe first, then the strongest match.
    warnings: list[WarningOut]


class WarningAudit(StrictWire):
    incident_id: int


class ImportProblem(Wire):
    line: int
    field: str
    reason: str


class ImportReport(Wire):
    kind: Literal["schemes", "orders", "incidents"]
    #: Data rows read from the file.
    rows: int
    applied: int
    problems: list[ImportProblem] = []

    @property
    def ok(self) -> bool:
        return not self.problems


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


# --- conversion and matching (shared by server and client) --------------------------------


def place(m: PlaceModel) -> Place:
    return Place(
        uprn=m.uprn, parent_uprn=m.parent_uprn, usrn=m.usrn, address=m.address, postcode=m.postcode
    )


def person(m: PersonModel) -> Person:
    return Person(name=m.name, dob=m.dob)


_ORDER_LABEL = {
    OrderType.NON_MOLESTATION: "Non-molestation order",
    OrderType.RESTRAINING: "Restraining order",
    OrderType.DVPO: "Domestic violence protection order",
    OrderType.STALKING_PROTECTION: "Stalking protection order",
    OrderType.OTHER: "Protective order",
}
_CATEGORY_LABEL = {
    SchemeCategory.VICTIM_AT_RISK: "Victim at risk",
    SchemeCategory.SERIAL_PERPETRATOR: "Serial perpetrator",
    SchemeCategory.VULNERABLE_PERSON: "Vulnerable person",
    SchemeCategory.OFFICER_SAFETY: "Officer safety",
    SchemeCategory.OTHER: "Special scheme",
}


def _best(found: list[tuple[MatchKind, str]]) -> tuple[MatchKind, str] | None:
    return min(found, key=lambda f: (f[0].possible, MATCH_RANK[f[0]])) if found else None


# Warnings are built with ``model_construct``: every input is an already-validated model or a
# value computed here, and validating again cost most of the ~55 us each warning took (the
# client builds one per match per lookup). The fields are the ones validation would produce:
# ``severity`` a Severity, ``match`` the kind's plain string value.

#: The fields a warning is built with (``model_construct`` marks exactly those as given).
_GIVEN = {
    kind: {"kind", "severity", "match", "possible", "matched_on", "text", kind}
    for kind in ("scheme", "order")
}
_set_attr = object.__setattr__


def _warning(
    entity: Literal["scheme", "order"],
    severity: Severity,
    kind: MatchKind,
    matched_on: str,
    text: str,
    scheme: SchemeOut | None = None,
    order: OrderOut | None = None,
) -> WarningOut:
    """``WarningOut.model_construct(...)`` of these fields, without its loop over every field
    (which cost a third of building a warning): the same ``__dict__`` in field order, and the
    fields given (one set per kind, shared as the models are frozen and ``model_copy`` copies
    the set before adding to it)."""
    w = WarningOut.__new__(WarningOut)
    _set_attr(
        w,
        "__dict__",
        {
            "kind": entity,
            "severity": severity,
            "match": _MATCH_VALUE[kind],
            "possible": kind in _POSSIBLE,
            "matched_on": matched_on,
            "text": text,
            "scheme": scheme,
            "order": order,
        },
    )
    _set_attr(w, "__pydantic_fields_set__", _GIVEN[entity])
    _set_attr(w, "__pydantic_extra__", None)
    _set_attr(w, "__pydantic_private__", None)
    return w


#: Each kind's plain string value, and the possible ones (enum properties cost a call each).
_MATCH_VALUE: dict[MatchKind, str] = {k: k.value for k in MatchKind}
_POSSIBLE = frozenset(k for k in MatchKind if k.possible)


def scheme_warning(
    s: SchemeOut, q: Place, now: datetime, policy: WarningPolicy
) -> WarningOut | None:
    kind = match_place(place(s.location), q, policy)
    if kind is None:
        return None
    return scheme_warning_of(s, kind, policy)


def scheme_warning_of(s: SchemeOut, kind: MatchKind, policy: WarningPolicy) -> WarningOut:
    """The warning for a scheme known to match as ``kind`` (the client's index finds the
    match itself)."""
    return _warning(
        "scheme",
        scheme_severity(s.category),
        kind,
        "location",
        scheme_text(
            s.category, s.location.address, s.summary, s.officer_in_case, s.expires_at, policy
        ),
        scheme=s,
    )


def scheme_text(
    category: SchemeCategory,
    address: str,
    summary: str,
    officer_in_case: str,
    expires_at: datetime,
    policy: WarningPolicy,
) -> str:
    """A scheme warning's line, from the scheme's fields (the client's index reads them
    without unpacking the scheme)."""
    local = expires_at.astimezone(policy.tz())
    return (
        f"{_CATEGORY_LABEL[category]} scheme at {address}: {summary} "
        f"(OIC {officer_in_case}; expires {_day_text(local.date())})"
    )


@lru_cache(maxsize=1024)
def _day_text(day: date) -> str:
    """``f"{day:%d %b %Y}"``, remembered: strftime cost half of building a scheme's warning,
    and expiries fall on a few hundred days."""
    return f"{day:%d %b %Y}"


def order_warning(
    o: OrderOut, q: Place | None, who: Person | None, now: datetime, policy: WarningPolicy
) -> WarningOut | None:
    found: list[tuple[MatchKind, str]] = []
    if q is not None:
        for loc in o.locations:
            k = match_place(place(loc), q, policy)
            if k is not None:
                found.append((k, "location"))
    if who is not None:
        by_person = order_person_match(o, who, policy)
        if by_person is not None:
            found.append(by_person)
    best = _best(found)
    if best is None:
        return None
    return order_warning_of(o, *best, now, policy)


def order_person_match(
    o: OrderOut, who: Person, policy: WarningPolicy
) -> tuple[MatchKind, str] | None:
    """How ``who`` matches the persons named on an order, the strongest first (the subject on
    a tie), with what matched: "subject" or "protected_person"."""
    return persons_match(person(o.subject), map(person, o.protected_persons), who, policy)


def persons_match(
    subject: Person, protected: Iterable[Person], who: Person, policy: WarningPolicy
) -> tuple[MatchKind, str] | None:
    """:func:`order_person_match` on an order's persons (the client's index reads them
    without unpacking the order)."""
    found: list[tuple[MatchKind, str]] = []
    k = match_person(subject, who, policy)
    if k is not None:
        found.append((k, "subject"))
    for p in protected:
        k = match_person(p, who, policy)
        if k is not None:
            found.append((k, "protected_person"))
    return _best(found)


def order_warning_of(
    o: OrderOut, kind: MatchKind, matched_on: str, now: datetime, policy: WarningPolicy
) -> WarningOut:
    """The warning for an order known to match as ``kind`` on ``matched_on`` ("location",
    "subject", "protected_person")."""
    return _warning(
        "order",
        order_severity(o.expires_on, now, policy),
        kind,
        matched_on,
        order_text(o.order_type, o.subject.name, expiry_wording(o.expires_on, now, policy)),
        order=o,
    )


def order_text(order_type: OrderType, subject: str, expiry: str) -> str:
    """An order warning's line, from the order's type, its subject's name and the
    ``expiry_wording`` of its expiry (the client's index reads them without unpacking the
    order)."""
    return f"{_ORDER_LABEL[order_type]} against {subject}: {expiry}"


def _sort_key(w: WarningView) -> tuple[int, bool, int, str, int]:
    return SEVERITY_RANK[w.severity], w.possible, MATCH_RANK[w.match], w.kind, w.entity_id


def sort_warnings(found: list[WarningT]) -> list[WarningT]:
    """Most severe first, then definite before possible matches, then the strongest match;
    schemes before orders and by id on a tie (a stable order for the operator)."""
    return sorted(found, key=_sort_key)


def find_warnings(
    schemes: list[SchemeOut],
    orders: list[OrderOut],
    q: Place | None,
    who: Person | None,
    now: datetime,
    policy: WarningPolicy = DEFAULT_WARNING_POLICY,
) -> list[WarningOut]:
    """Every warning for a location and/or a person, most severe first, then strongest match.

    Schemes that have expired by ``now`` are skipped (they are never shown). The server's
    ``GET /warnings`` and the client's offline matching both use this.
    """
    found: list[WarningOut] = []
    if q is not None:
        for s in schemes:
            if not scheme_live(s.expires_at, now):
                continue
            w = scheme_warning(s, q, now, policy)
            if w is not None:
                found.append(w)
    if q is not None or who is not None:
        for o in orders:
            w = order_warning(o, q, who, now, policy)
            if w is not None:
                found.append(w)
    return sort_warnings(found)


def merge_warnings(found: Iterable[WarningOut]) -> list[WarningOut]:
    """One warning per scheme/order (the most severe, strongest match), most severe first."""
    best: dict[tuple[str, int], WarningOut] = {}
    for w in sort_warnings(list(found)):
        best.setdefault((w.kind, w.entity_id), w)
    return sort_warnings(list(best.values()))


def find_warnings_for_people(
    schemes: list[SchemeOut],
    orders: list[OrderOut],
    q: Place | None,
    people: Sequence[Person],
    now: datetime,
    policy: WarningPolicy = DEFAULT_WARNING_POLICY,
) -> list[WarningOut]:
    """:func:`find_warnings` for a place and several persons (the caller and the people named
    on an incident): one warning per entity, keeping its strongest match."""
    if not people:
        return find_warnings(schemes, orders, q, None, now, policy)
    found: list[WarningOut] = []
    for i, who in enumerate(people):
        found += find_warnings(schemes if i == 0 else [], orders, q, who, now, policy)
    return merge_warnings(found)
