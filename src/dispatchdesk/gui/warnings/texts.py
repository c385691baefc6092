"""The words of a warning, free of widgets: what it is, why it matched, when it expires,
and its details (used by the warning panel, the assign window and the desk's summary)."""

from __future__ import annotations

from datetime import date, datetime

from dispatchdesk.domain.warnings import (
    OrderType,
    SchemeCategory,
    WarningPolicy,
    WarningRef,
    expiry_wording,
)
from dispatchdesk.gui.common.timefmt import local
from dispatchdesk.protocol.warnings import WarningView

#: Why a warning matched, in the operator's words (``WarningOut.match``).
MATCH_WORDS = {
    "uprn": "exact address (UPRN)",
    "parent_uprn": "the block this flat is in",
    "child_uprn": "a flat in this block",
    "street_house": "same street and house number",
    "same_block": "POSSIBLE MATCH: another flat in the same block",
    "address": "POSSIBLE MATCH: similar address",
    "person": "person: name and date of birth",
    "name": "POSSIBLE MATCH: same name",
    "same_address": "exact address (same flat, house, street and postcode)",
}

#: Whose details matched an order (``WarningOut.matched_on``); a location needs no words.
_MATCHED_ON_WORDS = {
    "subject": "the person the order is against",
    "protected_person": "a person the order protects",
    "location": "an address named in the order",
}

SCHEME_CATEGORY_WORDS = {
    SchemeCategory.VICTIM_AT_RISK: "Victim at risk",
    SchemeCategory.SERIAL_PERPETRATOR: "Serial perpetrator",
    SchemeCategory.VULNERABLE_PERSON: "Vulnerable person",
    SchemeCategory.OFFICER_SAFETY: "Officer safety",
    SchemeCategory.OTHER: "Other",
}

ORDER_TYPE_WORDS = {
    OrderType.NON_MOLESTATION: "Non-molestation order",
    OrderType.RESTRAINING: "Restraining order",
    OrderType.DVPO: "Domestic violence protection order (DVPO)",
    OrderType.STALKING_PROTECTION: "Stalking protection order",
    OrderType.OTHER: "Other protective order",
}


def warning_ref(warning: WarningView) -> WarningRef:
    """Which scheme or order a warning is about (what an acknowledgement names), read
    without unpacking it."""
    return WarningRef(warning.kind, warning.entity_id)


def why_matched(warning: WarningView) -> str:
    """ "Matched: exact address (UPRN)", "Matched: POSSIBLE MATCH: same name — a person the
    order protects", ..."""
    words = MATCH_WORDS.get(warning.match, warning.match)
    if warning.possible and not words.startswith("POSSIBLE MATCH"):
        words = f"POSSIBLE MATCH: {words}"  # a weak match always says so
    on = _MATCHED_ON_WORDS.get(warning.matched_on) if warning.kind == "order" else None
    return f"Matched: {words}" + (f" — {on}" if on else "")


def what_it_is(warning: WarningView) -> str:
    """ "Special scheme — Victim at risk", "Protective order — Non-molestation order"."""
    if warning.scheme is not None:
        return f"Special scheme — {SCHEME_CATEGORY_WORDS[warning.scheme.category]}"
    if warning.order is not None:
        return f"Protective order — {ORDER_TYPE_WORDS[warning.order.order_type]}"
    return "Special scheme" if warning.kind == "scheme" else "Protective order"


def expiry_line(warning: WarningView, now: datetime, policy: WarningPolicy) -> str:
    """The expiry in words and date: "Expires TOMORROW 24 Nov", "Expires 15 Mar 2027 18:00 (in
    112 days) · Officer in case: DC Jones"."""
    if warning.order is not None:
        wording = expiry_wording(warning.order.expires_on, now, policy)
        return wording[:1].upper() + wording[1:]
    if warning.scheme is not None:
        s = warning.scheme
        days = (s.expires_at - now).days
        when = local(s.expires_at, policy.timezone, "%d %b %Y %H:%M")
        return f"Expires {when} (in {days} days) · Officer in case: {s.officer_in_case}"
    return ""


def detail_lines(warning: WarningView, policy: WarningPolicy) -> list[str]:
    """The rest an operator may need: address and summary, or subject, protected persons,
    conditions and the court's reference."""
    if warning.scheme is not None:
        s = warning.scheme
        started = local(s.starts_at, policy.timezone, "%d %b %Y")
        return [f"At: {s.location.address}", f"Summary: {s.summary}", f"Started {started}"]
    if warning.order is not None:
        o = warning.order
        lines = [f"Against: {_person(o.subject.name, o.subject.dob)}"]
        if o.protected_persons:
            lines.append(
                "Protects: " + ", ".join(_person(p.name, p.dob) for p in o.protected_persons)
            )
        lines.append(f"Conditions: {o.conditions}")
        lines.append(f"Issued {o.issued_on:%d %b %Y} · ref {o.source_ref}")
        return lines
    return []


def _person(name: str, dob: date | None) -> str:
    return f"{name} (born {dob:%d/%m/%Y})" if dob is not None else name
