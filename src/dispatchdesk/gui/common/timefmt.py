"""Times shown to the operator: in the policy's time zone (the control room's), never the
workstation's, so a misconfigured workstation cannot show a wrong deadline."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(when: datetime, tz: str, fmt: str) -> str:
    """``when`` formatted with ``fmt`` in time zone ``tz`` (an IANA name)."""
    return when.astimezone(zone(tz)).strftime(fmt)
