"""Loading a fleet from CSV: ``dispatchdesk units import FILE.csv [--db URL]``.

The file has a header row with ``callsign``, ``kind`` and ``borough`` and optionally
``status`` (AVAILABLE, COMMITTED or OFF_DUTY; default AVAILABLE), ``lat`` and ``lon``::

    callsign,kind,borough,status,lat,lon
    LX21,IRV,Westminster,,51.4975,-0.1357
    LX22,Area car,Camden,OFF_DUTY,,

A borough must be on the server's list (``ServerSettings.reference_lists``; case aside) and
is stored as the list spells it. The whole file is checked first. Every bad row is reported
by line, field and reason, and when any row is bad nothing is applied; otherwise all units
are created in one transaction (change log and audit included, as ``fleet-import``), so a
running server's desks see them.
"""

from __future__ import annotations

import _csv
import csv
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from pydantic import ValidationError

from dispatchdesk.domain.reference import ReferenceLists
from dispatchdesk.domain.roles import Role
from dispatchdesk.protocol.schemas import UnitCreate
from dispatchdesk.server.auth import User
from dispatchdesk.server.db import create_schema, make_engine, read_tx, units
from dispatchdesk.server.errors import DomainError
from dispatchdesk.server.features.units.service import Units
from dispatchdesk.server.reference import checked_unit
from dispatchdesk.server.runner import CommandRunner
from dispatchdesk.server.settings import ServerSettings

#: The name the import's audit rows carry.
IMPORTER = "fleet-import"
REQUIRED = ("callsign", "kind", "borough")
OPTIONAL = ("status", "lat", "lon")


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.reason}"


@dataclass
class ImportReport:
    path: Path
    #: Callsigns created, in file order (empty when anything was wrong).
    created: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def text(self) -> str:
        if self.ok:
            return f"{self.path}: {len(self.created)} units imported"
        lines = [f"{self.path}: nothing imported, {len(self.errors)} problem(s):"]
        lines += [f"  {e}" for e in self.errors]
        return "\n".join(lines)


def read_fleet(
    path: Path, lists: ReferenceLists | None = None
) -> tuple[list[tuple[int, UnitCreate]], list[RowError]]:
    """Parse and check every row (boroughs against ``lists``, by default the server's); the
    units (with their line), and every problem found."""
    lists = ServerSettings.reference_lists if lists is None else lists
    errors: list[RowError] = []
    bodies: list[tuple[int, UnitCreate]] = []
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        return [], [RowError(0, "file", f"cannot be read: {exc.strerror or exc}")]
    with handle:
        try:
            rows = list(_rows(csv.reader(handle)))
        except (csv.Error, UnicodeDecodeError) as exc:
            return [], [RowError(0, "file", f"is not a readable UTF-8 CSV file: {exc}")]
    if not rows:
        return [], [
            RowError(
                1, "header", f"the file is empty: it needs a header row with {', '.join(REQUIRED)}"
            )
        ]
    header_line, header = rows[0]
    names = [h.strip().lower() for h in header]
    for name in REQUIRED:
        if name not in names:
            errors.append(RowError(header_line, name, "required column is missing"))
    for name in names:
        if name not in REQUIRED + OPTIONAL:
            errors.append(
                RowError(
                    header_line,
                    name or "(blank)",
                    f"unknown column: the columns are {', '.join(REQUIRED + OPTIONAL)}",
                )
            )
    if len(set(names)) != len(names):
        errors.append(RowError(header_line, "header", "a column is named twice"))
    if errors:
        return [], errors
    seen: dict[str, int] = {}
    for line, cells in rows[1:]:
        if len(cells) != len(names):
            errors.append(
                RowError(line, "row", f"has {len(cells)} fields, the header has {len(names)}")
            )
            continue
        data = {n: c.strip() for n, c in zip(names, cells, strict=True) if c.strip()}
        if "status" in data:
            data["status"] = data["status"].upper()
        try:
            body = UnitCreate.model_validate(data)
        except ValidationError as exc:
            for e in exc.errors():
                where = str(e["loc"][0]) if e["loc"] else "row"
                reason = str(e["msg"]).removeprefix("Value error, ")
                if e["type"] == "missing":
                    reason = "required, but empty"
                errors.append(RowError(line, where, reason))
            continue
        body, problems = checked_unit(body, lists)
        if problems:
            errors += [RowError(line, str(loc[0]), msg) for loc, msg in problems]
            continue
        if body.callsign in seen:
            errors.append(
                RowError(line, "callsign", f"{body.callsign} is also on line {seen[body.callsign]}")
            )
            continue
        seen[body.callsign] = line
        bodies.append((line, body))
    return bodies, errors


def _rows(reader: _csv.Reader) -> list[tuple[int, list[str]]]:
    """(physical line number, cells) of each non-blank record."""
    out: list[tuple[int, list[str]]] = []
    line = 1
    for cells in reader:
        if any(c.strip() for c in cells):
            out.append((line, cells))
        line = reader.line_num + 1
    return out


def import_units(
    db_url: str, path: Path | str, settings: ServerSettings | None = None
) -> ImportReport:
    """Check the whole file, then create every unit in one transaction, or none.
    ``settings`` (default: the server's defaults over ``db_url``) give the borough list."""
    settings = settings or ServerSettings(db_url=db_url)
    report = ImportReport(Path(path))
    checked, errors = read_fleet(report.path, settings.reference_lists)
    engine = make_engine(db_url)
    try:
        create_schema(engine)
        lines = {b.callsign: line for line, b in checked}
        if lines:
            with read_tx(engine) as conn:
                taken = (
                    conn.execute(
                        sa.select(units.c.callsign).where(units.c.callsign.in_(list(lines)))
                    )
                    .scalars()
                    .all()
                )
            errors += [
                RowError(lines[c], "callsign", f"{c} is already in the fleet") for c in taken
            ]
        report.errors = sorted(errors, key=lambda e: e.line)
        bodies = [b for _, b in checked]
        if report.errors or not bodies:
            return report
        runner = CommandRunner(engine, settings, on_commit=lambda: None)
        try:
            made = Units(runner).create_units(User(IMPORTER, Role.SUPERVISOR), bodies)
        except DomainError as exc:  # a unit added meanwhile: still nothing applied
            report.errors = [RowError(0, "callsign", str(exc.detail))]
            return report
        report.created = [u.callsign for u in made]
        return report
    finally:
        engine.dispose()
