"""Special schemes and protective orders: matching, severity and expiry rules (pure, no I/O).

Shared by the server (``GET /warnings``, the expiry sweep) and the client (offline matching).

Location matching, strongest first: the same UPRN; parent/child UPRN (a marker on a block shows
for its flats and the other way round); the same street (USRN) and house number/name; then a
free-text *possible match* on the address, read as a call handler types it (no commas, a town
at the end, a postcode on the line, abbreviations, a typo: :mod:`dispatchdesk.domain.addresses`).
A weak match is labelled as such but never hides a warning. Person matching: normalised name
and date of birth.
"""

from __future__ import annotations

import calendar
import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from dispatchdesk.domain.addresses import LONDON_LOCALITIES as LONDON_LOCALITIES
from dispatchdesk.domain.addresses import AddressParts as AddressParts
from dispatchdesk.domain.addresses import address_parts as address_parts
from dispatchdesk.domain.addresses import full_postcode as full_postcode
from dispatchdesk.domain.addresses import normalise_address as normalise_address
from dispatchdesk.domain.addresses import normalise_postcode as normalise_postcode
from dispatchdesk.domain.addresses import postcode_district as postcode_district
from dispatchdesk.domain.addresses import read_postcode as read_postcode
from dispatchdesk.domain.addresses import street_names_alike as street_names_alike
from dispatchdesk.domain.addresses import street_ratio_reaches as street_ratio_reaches
from dispatchdesk.domain.addresses import street_similar as street_similar
from dispatchdesk.domain.addresses import street_type as street_type


class SchemeCategory(StrEnum):
    VICTIM_AT_RISK = "VICTIM_AT_RISK"
    SERIAL_PERPETRATOR = "SERIAL_PERPETRATOR"
    VULNERABLE_PERSON = "VULNERABLE_PERSON"
    OFFICER_SAFETY = "OFFICER_SAFETY"
    OTHER = "OTHER"


class OrderType(StrEnum):
    NON_MOLESTATION = "NON_MOLESTATION"
    RESTRAINING = "RESTRAINING"
    DVPO = "DVPO"
    STALKING_PROTECTION = "STALKING_PROTECTION"
    OTHER = "OTHER"


class Severity(StrEnum):
    CRITICAL = "critical"
    HEIGHTENED = "heightened"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for the most severe."""
        return SEVERITY_RANK[self]


class ReviewState(StrEnum):
    ACTIVE = "ACTIVE"
    #: Within the review window before expiry, no review requested yet.
    REVIEW_DUE = "REVIEW_DUE"
    #: A first-stage review was requested and awaits a decision (extend or end).
    FIRST_STAGE = "FIRST_STAGE"
    #: No decision 14 days after the first-stage request: escalated.
    SECOND_STAGE = "SECOND_STAGE"


class VictimContactOutcome(StrEnum):
    #: The victim was told (at the outset how long the scheme lasts; before its removal).
    INFORMED = "INFORMED"
    #: An attempt to tell the victim failed (no answer, moved, ...): recorded all the same.
    NO_CONTACT = "NO_CONTACT"


class MatchKind(StrEnum):
    UPRN = "uprn"
    #: The marker is on the block (parent UPRN) of the place asked about.
    PARENT_UPRN = "parent_uprn"
    #: The marker is on a flat (child UPRN) of the block asked about.
    CHILD_UPRN = "child_uprn"
    #: Same street (USRN) and the same house number or name.
    STREET_HOUSE = "street_house"
    #: Another flat in the same block: a possible match.
    SAME_BLOCK = "same_block"
    #: Free-text address similarity: a possible match.
    ADDRESS = "address"
    #: Same normalised name and date of birth.
    PERSON = "person"
    #: Same name, a date of birth missing on one side, or a near-identical name with the same
    #: date of birth: a possible match.
    NAME = "name"
    #: No UPRN or USRN to go by, but the same address written out: the same flat (or none),
    #: house and street, and the same full postcode on both. Not a *possible* match: it is the
    #: address asked about. (Last, so the other kinds keep their ranks.)
    SAME_ADDRESS = "same_address"

    @property
    def possible(self) -> bool:
        """A weak match, shown as a *possible match* (never hidden)."""
        return self in (MatchKind.SAME_BLOCK, MatchKind.ADDRESS, MatchKind.NAME)

    @property
    def rank(self) -> int:
        """Declaration order: 0 for the strongest."""
        return MATCH_RANK[self]


#: ``Severity.rank`` and ``MatchKind.rank`` by value (a StrEnum member hashes as its value, so
#: the plain strings of wire models look up too): computed once, as ranks are asked for in
#: every sort of warnings.
SEVERITY_RANK: dict[str, int] = {"critical": 0, "heightened": 1, "info": 2}
MATCH_RANK: dict[str, int] = {kind.value: i for i, kind in enumerate(MatchKind)}


@dataclass(frozen=True, slots=True)
class Place:
    """A location to match: any field may be missing."""

    uprn: str | None = None
    parent_uprn: str | None = None
    usrn: str | None = None
    address: str | None = None
    postcode: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class WarningRef:
    """Which warning: a scheme or an order, by id (what an acknowledgement names)."""

    kind: str  # "scheme" or "order"
    entity_id: int


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    dob: date | None = None


@dataclass(frozen=True, slots=True)
class WarningPolicy:
    """Server policy for warnings; travels to clients so offline matching agrees."""

    timezone: str = "Europe/London"
    #: An order expiring within this many days (after today and tomorrow) is heightened.
    order_heightened_before_days: int = 7
    #: An order expired within this many days is heightened.
    order_heightened_after_days: int = 28
    #: Longest a scheme may run from its start or last extension.
    scheme_max_months: int = 6
    #: A scheme this close to expiry gets a first-stage review request (automatically).
    review_window: timedelta = timedelta(days=28)
    #: A first-stage review with no decision this long is escalated to second stage, or
    #: sooner when the scheme expires sooner (see :func:`scheme_escalation_due`).
    escalate_after: timedelta = timedelta(days=14)
    #: Free-text address similarity (0..1) at or above which an address is a possible match.
    address_similarity: float = 0.82

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


DEFAULT_WARNING_POLICY = WarningPolicy()


# --- text normalisation: domain/addresses.py -------------------------------------------------

_WORD_RE = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.casefold())


@dataclass(frozen=True, slots=True)
class ParsedPlace:
    """A :class:`Place` with its address split and its postcode normalised, once: a marker
    is compared with many places, and a place with many markers."""

    uprn: str | None
    parent_uprn: str | None
    usrn: str | None
    #: ``None`` when the place has no address.
    parts: AddressParts | None
    #: A full postcode, upper case, no spaces ("N19GU"); ``None`` for an outward code alone.
    #: From the place's postcode, or (when that is missing or unreadable) its address line.
    postcode: str | None
    #: The outward code ("N1"), see :func:`postcode_district`.
    district: str | None

    @classmethod
    def of(cls, place: Place) -> ParsedPlace:
        parts = address_parts(place.address) if place.address else None
        # The postcode field when readable, else one typed on the address line.
        postcode, district = read_postcode(place.postcode)
        if district is None and parts is not None and parts.postcode is not None:
            postcode, district = read_postcode(parts.postcode)
        return cls(
            uprn=place.uprn or None,
            parent_uprn=place.parent_uprn or None,
            usrn=place.usrn or None,
            parts=parts,
            postcode=postcode,
            district=district,
        )

    @property
    def house(self) -> str | None:
        return self.parts.house if self.parts is not None else None


@lru_cache(maxsize=2048)
def normalise_name(name: str) -> str:
    """Case, punctuation and word order do not matter: "SMITH, John" == "john smith".

    Remembered for the last two thousand names: matching a person normalises both names,
    and the same names come up lookup after lookup (a few hundred KB at most)."""
    return " ".join(sorted(_words(name)))


# --- location matching ---------------------------------------------------------------------


def match_place(
    marker: Place, query: Place, policy: WarningPolicy = DEFAULT_WARNING_POLICY
) -> MatchKind | None:
    """How ``marker`` (a scheme's or order's location) matches ``query``, strongest kind first.

    ``None`` means no match at all. A possible match (``kind.possible``) is still a match.
    :func:`match_parsed` on places already parsed.
    """
    return match_parsed(ParsedPlace.of(marker), ParsedPlace.of(query), policy)


def match_parsed(
    marker: ParsedPlace, query: ParsedPlace, policy: WarningPolicy = DEFAULT_WARNING_POLICY
) -> MatchKind | None:
    """:func:`match_place` on parsed places (what the client's index calls per candidate)."""
    if marker.uprn and marker.uprn == query.uprn:
        return MatchKind.UPRN
    if marker.uprn and marker.uprn == query.parent_uprn:
        return MatchKind.PARENT_UPRN
    if marker.parent_uprn and marker.parent_uprn == query.uprn:
        return MatchKind.CHILD_UPRN
    m, q = marker.parts, query.parts
    if m is None or q is None:
        if marker.parent_uprn and marker.parent_uprn == query.parent_uprn:
            return MatchKind.SAME_BLOCK
        return None
    same_house = m.house is not None and m.house == q.house
    if same_house and marker.usrn and marker.usrn == query.usrn:
        return MatchKind.SAME_BLOCK if _other_flat(m, q) else MatchKind.STREET_HOUSE
    if marker.parent_uprn and marker.parent_uprn == query.parent_uprn:
        return MatchKind.SAME_BLOCK
    if same_house and _address_similar(marker, query, policy):
        if _other_flat(m, q):
            return MatchKind.SAME_BLOCK
        return MatchKind.SAME_ADDRESS if _same_address(marker, query) else MatchKind.ADDRESS
    return None


def _same_address(marker: ParsedPlace, query: ParsedPlace) -> bool:
    """Flat, house and street alike and the same full postcode on both (a missing one leaves
    it a possible match: the same number in another street of that name)."""
    m, q = marker.parts, query.parts
    assert m is not None and q is not None
    return (
        m.flat == q.flat
        and m.house == q.house
        and m.street == q.street
        and marker.postcode is not None
        and marker.postcode == query.postcode
    )


def _other_flat(m: AddressParts, q: AddressParts) -> bool:
    return m.flat is not None and q.flat is not None and m.flat != q.flat


def _address_similar(marker: ParsedPlace, query: ParsedPlace, policy: WarningPolicy) -> bool:
    """The free-text rule, for two addresses with the same house number or name.

    The same full postcode needs streets that may be the same (``street_names_alike`` or
    ``street_similar``; a street missing on either side is no contradiction): a postcode
    unit can hold a corner of another street with the same numbers. Otherwise the streets
    proper (``AddressParts.street``: no flat, house, town or postcode) must be
    ``street_similar``, and when both postcodes are readable they must share the district
    (outward code). Why so strict: the old rule compared the whole rest of the address
    anywhere in London, so "22 Acacia Road, London" was a possible match for "22 Amara Road,
    London" (the shared ", London" lifts the ratio to 0.86) and a lookup returned some nine
    spurious possible matches for each real warning; operators learn to click through such
    lists, which hides the real ones. A typo in the street still matches within the same
    district, or when a postcode is missing.
    """
    assert marker.parts is not None and query.parts is not None
    known, asked = marker.parts.street, query.parts.street
    threshold = policy.address_similarity
    if marker.postcode and marker.postcode == query.postcode:
        # street_similar first: its ratio of the whole streets is the one the client's index
        # has just computed (remembered), where the names' would be another difflib run.
        return (
            not known
            or not asked
            or street_similar(known, asked, threshold)
            or street_names_alike(known, asked, threshold)
        )
    if marker.district and query.district and marker.district != query.district:
        return False
    return street_similar(known, asked, threshold)


# --- person matching -----------------------------------------------------------------------


def match_person(
    known: Person, query: Person, policy: WarningPolicy = DEFAULT_WARNING_POLICY
) -> MatchKind | None:
    """Same normalised name and DOB: PERSON; same name with a DOB missing, or a near-identical
    name with the same DOB: NAME (possible). Different DOBs never match."""
    return match_names(
        normalise_name(known.name), known.dob, normalise_name(query.name), query.dob, policy
    )


def match_names(
    known: str,
    known_dob: object,
    asked: str,
    asked_dob: object,
    policy: WarningPolicy = DEFAULT_WARNING_POLICY,
) -> MatchKind | None:
    """:func:`match_person` on names already normalised (:func:`normalise_name`): the
    client's index normalises each name it files or is asked about once. The dates of birth
    (``None`` when unknown) may be given in any form that is equal exactly when the dates
    are (dates, or the index's packed form of them)."""
    if not known or not asked:
        return None
    if known_dob is not None and asked_dob is not None:
        if known_dob != asked_dob:
            return None
        if known == asked:
            return MatchKind.PERSON
        ratio = difflib.SequenceMatcher(None, known, asked).ratio()
        return MatchKind.NAME if ratio >= policy.address_similarity else None
    return MatchKind.NAME if known == asked else None


# --- order expiry --------------------------------------------------------------------------


def local_today(now: datetime, policy: WarningPolicy = DEFAULT_WARNING_POLICY) -> date:
    return now.astimezone(policy.tz()).date()


def order_severity(
    expires_on: date | None, now: datetime, policy: WarningPolicy = DEFAULT_WARNING_POLICY
) -> Severity:
    """Expiring today or tomorrow: critical; within the heightened window before, or expired
    within the window after: heightened; otherwise (or until further order): info."""
    if expires_on is None:
        return Severity.INFO
    days = (expires_on - local_today(now, policy)).days
    if 0 <= days <= 1:
        return Severity.CRITICAL
    if 1 < days <= policy.order_heightened_before_days:
        return Severity.HEIGHTENED
    if -policy.order_heightened_after_days <= days < 0:
        return Severity.HEIGHTENED
    return Severity.INFO


def _day(d: date, with_year: bool) -> str:
    text = f"{d.day} {calendar.month_abbr[d.month]}"
    return f"{text} {d.year}" if with_year else text


def expiry_wording(
    expires_on: date | None, now: datetime, policy: WarningPolicy = DEFAULT_WARNING_POLICY
) -> str:
    """ "expires TODAY 23 Nov", "expires TOMORROW 24 Nov", "expires in 5 days, 28 Nov",
    "EXPIRED 2 days ago, 21 Nov", "expires 15 Mar 2027", "no expiry: until further order"."""
    if expires_on is None:
        return "no expiry: until further order"
    today = local_today(now, policy)
    days = (expires_on - today).days
    year = expires_on.year != today.year
    when = _day(expires_on, year)
    if days == 0:
        return f"expires TODAY {when}"
    if days == 1:
        return f"expires TOMORROW {when}"
    if days == -1:
        return f"EXPIRED YESTERDAY {when}"
    if 1 < days <= policy.order_heightened_before_days:
        return f"expires in {days} days, {when}"
    if -policy.order_heightened_after_days <= days < 0:
        return f"EXPIRED {-days} days ago, {when}"
    if days < 0:
        return f"expired {when}"
    return f"expires {when}"


# --- schemes -------------------------------------------------------------------------------


def add_months(
    when: datetime, months: int, policy: WarningPolicy = DEFAULT_WARNING_POLICY
) -> datetime:
    """``when`` plus calendar months on the local calendar (31 Aug + 6 = 28/29 Feb)."""
    local = when.astimezone(policy.tz())
    month0 = local.month - 1 + months
    year = local.year + month0 // 12
    month = month0 % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(when.tzinfo)


def scheme_latest_expiry(
    basis: datetime, policy: WarningPolicy = DEFAULT_WARNING_POLICY
) -> datetime:
    """The latest expiry allowed for a scheme started or last extended at ``basis``."""
    return add_months(basis, policy.scheme_max_months, policy)


def scheme_expiry_problem(
    basis: datetime,
    expires_at: datetime,
    policy: WarningPolicy = DEFAULT_WARNING_POLICY,
    *,
    what: str = "start",
) -> str | None:
    """A sentence when ``expires_at`` breaks the rule, else ``None``."""
    if expires_at <= basis:
        return f"The expiry must be after the scheme's {what}."
    latest = scheme_latest_expiry(basis, policy)
    if expires_at > latest:
        local = latest.astimezone(policy.tz())
        return (
            f"A special scheme can run at most {policy.scheme_max_months} months from its "
            f"{what}: the latest expiry allowed is {local:%d %b %Y %H:%M}. Extend it again "
            "nearer the time if it is still needed."
        )
    return None


def scheme_live(expires_at: datetime, now: datetime) -> bool:
    """A scheme is not viewable anywhere from its expiry on."""
    return now < expires_at


def scheme_review_due(
    expires_at: datetime, policy: WarningPolicy = DEFAULT_WARNING_POLICY
) -> datetime:
    """When a scheme enters its review window: its first-stage review is requested then."""
    return expires_at - policy.review_window


def scheme_escalation_due(
    expires_at: datetime,
    review_requested_at: datetime,
    policy: WarningPolicy = DEFAULT_WARNING_POLICY,
) -> datetime:
    """When a first-stage review with no decision goes to second stage.

    ``escalate_after`` (14 days) after the request, but never later than halfway between the
    request and the expiry: the second stage always gets at least as long as the first had,
    and always lands before expiry, also for a scheme added or extended with less than the
    review window to run, or reviewed late because the server was down.
    """
    remaining = max(expires_at - review_requested_at, timedelta(0))
    return review_requested_at + min(policy.escalate_after, remaining / 2)


def scheme_review_state(
    expires_at: datetime,
    review_requested_at: datetime | None,
    now: datetime,
    policy: WarningPolicy = DEFAULT_WARNING_POLICY,
) -> ReviewState:
    if review_requested_at is not None:
        if now >= scheme_escalation_due(expires_at, review_requested_at, policy):
            return ReviewState.SECOND_STAGE
        return ReviewState.FIRST_STAGE
    if now >= scheme_review_due(expires_at, policy):
        return ReviewState.REVIEW_DUE
    return ReviewState.ACTIVE


_SCHEME_SEVERITY = {
    SchemeCategory.VICTIM_AT_RISK: Severity.CRITICAL,
    SchemeCategory.OFFICER_SAFETY: Severity.CRITICAL,
    SchemeCategory.SERIAL_PERPETRATOR: Severity.HEIGHTENED,
    SchemeCategory.VULNERABLE_PERSON: Severity.HEIGHTENED,
    SchemeCategory.OTHER: Severity.INFO,
}


def scheme_severity(category: SchemeCategory) -> Severity:
    return _SCHEME_SEVERITY[category]
