"""Building blocks shared by every wire schema: base models and validated field types."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

# A UK postcode, loosely (the outward and inward code, any case, optional space).
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
_UPRN = re.compile(r"^[0-9]{1,12}$")


def _postcode(value: str) -> str:
    compact = value.strip().upper().replace(" ", "")
    if not _POSTCODE.match(compact):
        raise ValueError("not a UK postcode (for example SW1A 1AA)")
    canonical = f"{compact[:-3]} {compact[-3:]}"
    # The string given when it already reads so (pydantic shares a repeated one across the
    # incidents parsed: 50,000 cached incidents held 50,000 more copies).
    return value if value == canonical else canonical


def _uprn(value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    if not _UPRN.match(value.strip()):
        raise ValueError("a UPRN or USRN is 1 to 12 digits")
    return value.strip()


Postcode = Annotated[str, AfterValidator(_postcode)]
#: A UPRN or USRN: 1 to 12 digits; blank means none.
Uprn = Annotated[str | None, AfterValidator(_uprn)]
NonBlank = Annotated[str, Field(min_length=1, max_length=2000)]
#: A password, used exactly as typed: never stripped of spaces (``users add`` keeps them).
Password = Annotated[
    str, StringConstraints(strip_whitespace=False), Field(min_length=1, max_length=1000)
]

#: The largest whole number a database column holds (signed 64-bit).
MAX_INT = 2**63 - 1
#: Dates and times outside these are refused (arithmetic on year 1 or 9999 overflows).
EARLIEST, LATEST = date(1900, 1, 1), date(3000, 1, 1)


def storable(value: Any) -> Any:
    """``value`` if every string, number and key in it can be stored, else ValueError: text
    with a NUL character or a lone UTF-16 surrogate (neither can be stored or sent as
    UTF-8), a whole number beyond a signed 64-bit integer, a number that is not finite, a date
    or time outside :data:`EARLIEST` to :data:`LATEST`."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text must be valid Unicode (it has a lone surrogate)") from None
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise ValueError(f"a whole number must be between {-MAX_INT - 1} and {MAX_INT}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a number must be finite")
    elif isinstance(value, date):  # a datetime too
        day = value.date() if isinstance(value, datetime) else value
        if not EARLIEST <= day < LATEST:
            raise ValueError(
                f"a date must be from {EARLIEST.isoformat()} and before {LATEST.isoformat()}"
            )
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key)
            storable(item)
    return value


class Wire(BaseModel):
    """Response bodies: unknown fields are ignored, so a newer server stays readable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


#: The config of a response model made from a request model (``class LocationOut(LocationModel)``,
#: its fields shared): unknown fields are ignored, as in :class:`Wire`, so a desk of this
#: version reads what a newer server sends; and the request model's instance is taken as one.
RESPONSE_CONFIG = ConfigDict(extra="ignore", from_attributes=True)


class StrictWire(BaseModel):
    """Request bodies: unknown fields are an error, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        """Every field of every request body: nothing the database cannot store."""
        return storable(value)
