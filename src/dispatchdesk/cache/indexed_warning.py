"""The warnings the client's index returns: built from the packed scheme or order's own
fields, the scheme or order unpacked only when read.

A lookup finds a warning or two (up to twenty); unpacking each one's whole scheme or order
(nested models, a dozen fields, an object each) to build it cost 8 to 20 µs a warning, where
the flags column reads only the kind, the severity and the id. Built from the packed fields
a warning costs 2 to 4 µs (an order's severity and expiry wording remembered per expiry
date for the day: :class:`Expiries`).
:class:`IndexedWarning` reads what its line needs (category, address, summary and officer
of a scheme; type, subject's name and expiry of an order) from the packed fields
(:func:`dispatchdesk.cache.packed.fields`: one ``marshal.loads``), builds the same severity and
text as the protocol's ``scheme_warning_of`` / ``order_warning_of`` (with the protocol's own
``scheme_text`` / ``order_text``), and holds the packed bytes it was built from: ``scheme`` /
``order`` unpack them on first reading (the operator opening a warning's details), and still
give that version after the index has moved on to another.

It satisfies :class:`dispatchdesk.protocol.warnings.WarningView`, as ``WarningOut`` does;
:meth:`IndexedWarning.as_wire` gives the ``WarningOut`` the reference matcher builds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, TypeVar, cast

from pydantic import BaseModel

from dispatchdesk.cache.packed import Packed, decoded, fields, position, unpack_as
from dispatchdesk.domain.warnings import (
    MatchKind,
    Severity,
    WarningPolicy,
    expiry_wording,
    local_today,
    order_severity,
    scheme_severity,
)
from dispatchdesk.protocol.warnings import (
    OrderOut,
    PersonOut,
    PlaceOut,
    SchemeOut,
    WarningOut,
    order_text,
    scheme_text,
)

E = TypeVar("E", bound=BaseModel)

#: Each kind of match's plain string value (as ``WarningOut.match`` holds it) and whether it
#: is a possible match (enum properties cost a call each).
_MATCH: dict[MatchKind, tuple[str, bool]] = {k: (k.value, k.possible) for k in MatchKind}


@dataclass(frozen=True, slots=True)
class IndexedWarning:
    """One warning from the client's index (see the module's docstring); compared and
    hashed by its fields and the packed bytes it was built from."""

    kind: Literal["scheme", "order"]
    severity: Severity
    #: The kind of match's plain string value, as in ``WarningOut.match``.
    match: str
    possible: bool
    matched_on: str
    text: str
    #: The scheme's or order's id and version (read without unpacking it).
    entity_id: int
    version: int
    #: The scheme or order as it was when the warning was built.
    packed: Packed = field(repr=False)
    _unpacked: BaseModel | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def scheme(self) -> SchemeOut | None:
        """The scheme (unpacked on first reading); None for an order's warning."""
        return self._entity(SchemeOut) if self.kind == "scheme" else None

    @property
    def order(self) -> OrderOut | None:
        """The order (unpacked on first reading); None for a scheme's warning."""
        return self._entity(OrderOut) if self.kind == "order" else None

    def _entity(self, cls: type[E]) -> E:
        held = self._unpacked
        if isinstance(held, cls):
            return held
        model = unpack_as(cls, self.packed)
        object.__setattr__(self, "_unpacked", model)  # frozen: a cache, not a field
        return model

    def as_wire(self) -> WarningOut:
        """The ``WarningOut`` the reference matcher builds (``scheme_warning_of`` /
        ``order_warning_of``): the same fields given and values."""
        given: dict[str, Any] = {self.kind: self.scheme if self.kind == "scheme" else self.order}
        return WarningOut.model_construct(
            kind=self.kind,
            severity=self.severity,
            match=self.match,
            possible=self.possible,
            matched_on=self.matched_on,
            text=self.text,
            **given,
        )


class _Building:
    """An :class:`IndexedWarning` being built: the same slots, set as plain attributes,
    then the object becomes an ``IndexedWarning`` (``__class__`` assigned: allowed between
    classes with the same slots). The frozen dataclass's own ``__init__`` sets each field
    through ``object.__setattr__`` (about 1 µs a warning, where this takes a quarter);
    what is built is the same object the dataclass's ``__init__`` would build."""

    __slots__ = IndexedWarning.__slots__

    def __init__(
        self,
        kind: Literal["scheme", "order"],
        severity: Severity,
        match: str,
        possible: bool,
        matched_on: str,
        text: str,
        entity_id: int,
        version: int,
        packed: Packed,
    ) -> None:
        self.kind = kind
        self.severity = severity
        self.match = match
        self.possible = possible
        self.matched_on = matched_on
        self.text = text
        self.entity_id = entity_id
        self.version = version
        self.packed = packed
        self._unpacked = None

    def done(self) -> IndexedWarning:
        """This object, now the ``IndexedWarning`` the dataclass's ``__init__`` would
        have built with these fields."""
        built: Any = self
        built.__class__ = IndexedWarning
        return cast(IndexedWarning, built)


# Where the fields a warning reads are in a packed scheme or order (``cache.packed``).
_S_ID, _S_VERSION, _S_LOCATION, _S_CATEGORY, _S_SUMMARY, _S_OFFICER = (
    position(SchemeOut, f)
    for f in ("id", "version", "location", "category", "summary", "officer_in_case")
)
_ADDRESS = position(PlaceOut, "address")
_O_ID, _O_VERSION, _O_TYPE, _O_SUBJECT, _O_EXPIRES = (
    position(OrderOut, f) for f in ("id", "version", "order_type", "subject", "expires_on")
)
_NAME = position(PersonOut, "name")


def scheme_warning(
    packed: Packed, expires_at: datetime, kind: MatchKind, policy: WarningPolicy
) -> IndexedWarning:
    """What ``scheme_warning_of`` builds for the scheme ``packed`` holds (its ``expires_at``
    given: the index holds it), matched as ``kind``; the scheme is not unpacked."""
    raw = fields(packed)
    category = decoded(raw[_S_CATEGORY])
    match, possible = _MATCH[kind]
    return _Building(
        "scheme",
        scheme_severity(category),
        match,
        possible,
        "location",
        scheme_text(
            category,
            raw[_S_LOCATION][_ADDRESS],
            raw[_S_SUMMARY],
            raw[_S_OFFICER],
            expires_at,
            policy,
        ),
        raw[_S_ID],
        raw[_S_VERSION],
        packed,
    ).done()


#: Expiry dates remembered by :class:`Expiries` before it starts afresh.
_EXPIRIES_LIMIT = 4_096


class Expiries:
    """An order's severity and expiry wording by its expiry date, as ``order_severity`` and
    ``expiry_wording`` give them at ``now`` under ``policy``, remembered for the local day
    and policy they were worked out for: both read ``now`` only through its local date
    (``local_today``), and the expiry days of a force's orders are a few hundred, where each
    working-out costs a few µs (the date's words, the day in the time zone)."""

    __slots__ = ("_day", "_held", "_policy")

    def __init__(self) -> None:
        self._policy: WarningPolicy | None = None
        self._day: date | None = None
        #: Expiry date as the packed fields hold it (``encoded``) → (severity, wording).
        self._held: dict[Any, tuple[Severity, str]] = {}

    def at(self, now: datetime, policy: WarningPolicy) -> Expiries:
        """Ready for lookups at ``now`` under ``policy`` (once per lookup)."""
        day = local_today(now, policy)
        if day != self._day or policy is not self._policy or len(self._held) >= _EXPIRIES_LIMIT:
            self._held = {}
            self._day, self._policy = day, policy
        return self

    def of(self, expires_on: Any, now: datetime) -> tuple[Severity, str]:
        """Severity and wording of an expiry as the packed fields hold it (``None`` or a
        date's bytes), at ``now`` (of the day :meth:`at` was given)."""
        held = self._held.get(expires_on)
        if held is None:
            policy = self._policy
            assert policy is not None, "Expiries.at() first"
            day = decoded(expires_on)
            held = order_severity(day, now, policy), expiry_wording(day, now, policy)
            self._held[expires_on] = held
        return held


def order_warning(
    packed: Packed,
    kind: MatchKind,
    matched_on: str,
    now: datetime,
    expiries: Expiries,
    raw: tuple[Any, ...] | None = None,
) -> IndexedWarning:
    """What ``order_warning_of`` builds for the order ``packed`` holds, matched as ``kind`` on
    ``matched_on`` at ``now`` (``expiries``: ready for ``now``); ``raw``: its fields if
    already read (``fields(packed)``). The order is not unpacked."""
    raw = fields(packed) if raw is None else raw
    severity, expiry = expiries.of(raw[_O_EXPIRES], now)
    match, possible = _MATCH[kind]
    return _Building(
        "order",
        severity,
        match,
        possible,
        matched_on,
        order_text(decoded(raw[_O_TYPE]), raw[_O_SUBJECT][_NAME], expiry),
        raw[_O_ID],
        raw[_O_VERSION],
        packed,
    ).done()
