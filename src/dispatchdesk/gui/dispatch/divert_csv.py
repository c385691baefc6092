"""The DIVERT tag list as CSV, for QA outside the desk (Export CSV…)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime

from dispatchdesk.domain.incident import Divert, DivertKind
from dispatchdesk.gui.dispatch.divert_model import DivertTableModel

CSV_HEADER = (
    "Divert id",
    "From incident",
    "To incident",
    "Unit",
    "Diverted by",
    "Diverted at",
    "Reason",
    "Incident left",
    "Released at",
    "Released by",
    "Release reason",
    "Review",
    "Reviewed at",
    "Reviewed by",
    "Review note",
    "Kind",
)


def moved_text(divert: Divert) -> str:
    """ "LX30 diverted from CAD 1 to CAD 90" or "LX30 withdrawn from CAD 1 before arriving"."""
    if divert.kind is DivertKind.WITHDRAWN:
        return f"{divert.callsign} withdrawn from {divert.from_ref} before arriving"
    return f"{divert.callsign} diverted from {divert.from_ref} to {divert.to_text}"


def _iso(when: datetime | None) -> str:
    return "" if when is None else when.isoformat()


def _safe(text: str | None) -> str:
    """Free text as a spreadsheet will not run it: a leading = + - @ makes Excel read a formula
    (CSV injection), so such a cell gets a leading apostrophe."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_row(model: DivertTableModel, divert: Divert) -> list[str]:
    return [
        str(divert.id),
        divert.from_ref,
        divert.to_text,
        divert.callsign,
        _safe(divert.by),
        _iso(divert.at),
        _safe(divert.reason),
        _safe(model.state_text(divert)),
        _iso(divert.released_at),
        _safe(divert.released_by),
        _safe(divert.released_reason),
        _safe(model.review_text(divert)),
        _iso(divert.reviewed_at),
        _safe(divert.reviewed_by),
        _safe(divert.review_note),
        divert.kind.value,
    ]


def write_csv(path: str, model: DivertTableModel, diverts: Iterable[Divert]) -> int:
    """Write ``diverts`` with a header row; returns the number of rows. Raises ``OSError``."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        for divert in diverts:
            writer.writerow(csv_row(model, divert))
            count += 1
    return count
