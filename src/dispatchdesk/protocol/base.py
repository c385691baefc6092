"""Building blocks shared by every wire schema: base models and validated field types."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# A UK postcode, loosely (the outward and inward code, any case, optional space).
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
_UPRN = re.compile(r"^[0-9]{1,12}$")


def _postcode(value: str) -> str:
    compact = value.strip().upper().replace(" ", "")
    if not _POSTCODE.match(compact):
        raise ValueError("not a UK postcode (for example SW1A 1AA)")
    return f"{compact[:-3]} {compact[-3:]}"


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


class Wire(BaseModel):
    """Response bodies: unknown fields are ignored, so a newer server stays readable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class StrictWire(BaseModel):
    """Request bodies: unknown fields are an error, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
