"""Bulk load of special schemes and protective orders from CSV.

``dispatchdesk import schemes FILE.csv [--db URL]`` and ``dispatchdesk import orders FILE.csv``.
Each file has a header row; column order does not matter, unknown columns are an error.

Schemes: ``address``, ``category`` (VICTIM_AT_RISK, SERIAL_PERPETRATOR, VULNERABLE_PERSON,
OFFICER_SAFETY, OTHER), ``summary``, ``officer_in_case``, ``expires_at``; optionally ``uprn``,
``parent_uprn``, ``usrn``, ``postcode``, ``starts_at`` (default: now), ``victim_informed_at``.

Orders: ``order_type`` (NON_MOLESTATION, RESTRAINING, DVPO, STALKING_PROTECTION, OTHER),
``subject_name``, ``conditions``, ``issued_on``, ``source_ref``; optionally ``subject_dob``,
``expires_on`` (empty: until further order), ``protected_persons`` (``Name (YYYY-MM-DD); Name``),
``location_address``, ``location_postcode``, ``location_uprn``, ``location_parent_uprn``,
``location_usrn``.

Times are ISO 8601; without an offset they are local time in the policy's zone (a bare date
is local midnight). Dates are ``YYYY-MM-DD``.

The whole file is checked first, with the same rules as the API (the six-month limit, no
already-expired scheme, no order source reference loaded twice, no date of birth after today
in the policy's zone). Every bad row is reported by
line, field and reason, and when any row is bad nothing is applied; otherwise every row is
created in one transaction, with change-log and audit rows, so running desks see them.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from dispatchdesk.domain.clock import Clock, SystemClock
from dispatchdesk.domain.warnings import DEFAULT_WARNING_POLICY, WarningPolicy, local_today
from dispatchdesk.protocol.warnings import (
    ImportProblem,
    ImportReport,
    OrderCreate,
    SchemeCreate,
)
from dispatchdesk.server import changelog
from dispatchdesk.server.db import create_schema, make_engine, write_tx
from dispatchdesk.server.features.warnings.tables import protective_orders
from dispatchdesk.server.features.warnings.writes import (
    check_new_scheme,
    insert_order,
    insert_scheme,
    order_problems,
)
from dispatchdesk.server.settings import ServerSettings

SCHEME_REQUIRED = ("address", "category", "summary", "officer_in_case", "expires_at")
SCHEME_OPTIONAL = ("uprn", "parent_uprn", "usrn", "postcode", "starts_at", "victim_informed_at")
ORDER_REQUIRED = ("order_type", "subject_name", "conditions", "issued_on", "source_ref")
ORDER_OPTIONAL = (
    "subject_dob",
    "expires_on",
    "protected_persons",
    "location_address",
    "location_postcode",
    "location_uprn",
    "location_parent_uprn",
    "location_usrn",
)
_PERSON = re.compile(r"^(?P<name>[^()]+?)\s*(?:\((?P<dob>[^()]*)\))?$")


class _BadField(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def report_text(path: Path, report: ImportReport) -> str:
    """The report as the CLI prints it."""
    if report.ok:
        return f"{path}: {report.applied} {report.kind} imported"
    lines = [f"{path}: nothing imported, {len(report.problems)} problem(s):"]
    lines += [f"  line {p.line}, {p.field}: {p.reason}" for p in report.problems]
    return "\n".join(lines)


def _rows(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...], problems: list[ImportProblem]
) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        problems.append(
            ImportProblem(line=0, field="file", reason=f"cannot be read: {exc.strerror or exc}")
        )
        return
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader, [])]
            if not header:
                problems.append(ImportProblem(line=1, field="file", reason="is empty"))
                return
            for col in required:
                if col not in header:
                    problems.append(
                        ImportProblem(line=1, field=col, reason="required column is missing")
                    )
            for col in header:
                if col not in required and col not in optional:
                    problems.append(
                        ImportProblem(
                            line=1,
                            field=col or "(blank)",
                            reason="unknown column; the columns are "
                            + ", ".join(required + optional),
                        )
                    )
            if problems:
                return
            for raw in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in raw):
                    continue
                if len(raw) != len(header):
                    problems.append(
                        ImportProblem(
                            line=line,
                            field="row",
                            reason=f"has {len(raw)} cells, the header has {len(header)}",
                        )
                    )
                    continue
                yield line, {h: c.strip() for h, c in zip(header, raw, strict=True)}
        except (csv.Error, UnicodeDecodeError) as exc:
            problems.append(
                ImportProblem(
                    line=reader.line_num,
                    field="file",
                    reason=f"is not a readable UTF-8 CSV file: {exc}",
                )
            )


def _time(field: str, text: str, policy: WarningPolicy, bad: list[_BadField]) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        bad.append(_BadField(field, f"{text!r} is not an ISO 8601 time (2026-11-23T09:00)"))
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=policy.tz())
    return value


def _date(field: str, text: str, bad: list[_BadField]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        bad.append(_BadField(field, f"{text!r} is not a date (YYYY-MM-DD)"))
        return None


def _validation_problems(
    line: int, exc: ValidationError, rename: dict[str, str]
) -> list[ImportProblem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        out.append(ImportProblem(line=line, field=rename.get(loc, loc), reason=err["msg"]))
    return out


_SCHEME_FIELDS = {
    f"location.{k}": k for k in ("address", "postcode", "uprn", "parent_uprn", "usrn")
}
_ORDER_FIELDS = {
    "subject.name": "subject_name",
    "subject.dob": "subject_dob",
    **{
        f"locations.0.{k}": f"location_{k}"
        for k in ("address", "postcode", "uprn", "parent_uprn", "usrn")
    },
}


def _order_field(field: str) -> str:
    """The CSV column a problem of an order's field is in."""
    if field.startswith("protected_persons."):
        return "protected_persons"
    return _ORDER_FIELDS.get(field, field)


def _scheme_body(
    row: dict[str, str], policy: WarningPolicy, bad: list[_BadField]
) -> dict[str, Any]:
    location = {
        k: row.get(k) or None for k in ("address", "postcode", "uprn", "parent_uprn", "usrn")
    }
    return {
        "location": location,
        "category": row["category"].upper(),
        "summary": row["summary"],
        "officer_in_case": row["officer_in_case"],
        "starts_at": _time("starts_at", row.get("starts_at", ""), policy, bad),
        "expires_at": _time("expires_at", row["expires_at"], policy, bad),
        "victim_informed_at": _time(
            "victim_informed_at", row.get("victim_informed_at", ""), policy, bad
        ),
    }


def _persons(text: str, bad: list[_BadField]) -> list[dict[str, Any]]:
    out = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        m = _PERSON.match(part)
        if m is None:
            bad.append(
                _BadField(
                    "protected_persons", f"{part!r}: write each person as Name or Name (YYYY-MM-DD)"
                )
            )
            continue
        out.append(
            {
                "name": m["name"].strip(),
                "dob": _date("protected_persons", (m["dob"] or "").strip(), bad),
            }
        )
    return out


def _order_body(row: dict[str, str], policy: WarningPolicy, bad: list[_BadField]) -> dict[str, Any]:
    locations = []
    if any(
        row.get(f"location_{k}") for k in ("address", "postcode", "uprn", "parent_uprn", "usrn")
    ):
        locations.append(
            {
                k: row.get(f"location_{k}") or None
                for k in ("address", "postcode", "uprn", "parent_uprn", "usrn")
            }
        )
    return {
        "order_type": row["order_type"].upper(),
        "subject": {
            "name": row["subject_name"],
            "dob": _date("subject_dob", row.get("subject_dob", ""), bad),
        },
        "protected_persons": _persons(row.get("protected_persons", ""), bad),
        "locations": locations,
        "conditions": row["conditions"],
        "issued_on": _date("issued_on", row["issued_on"], bad),
        "expires_on": _date("expires_on", row.get("expires_on", ""), bad),
        "source_ref": row["source_ref"],
    }


M = TypeVar("M", bound=BaseModel)


def _load(
    path: Path,
    model: type[M],
    required: tuple[str, ...],
    optional: tuple[str, ...],
    build: Callable[[dict[str, str], WarningPolicy, list[_BadField]], dict[str, Any]],
    rename: dict[str, str],
    policy: WarningPolicy,
) -> tuple[int, list[tuple[int, M]], list[ImportProblem]]:
    """(data rows read, the valid bodies with their line, every problem found)."""
    problems: list[ImportProblem] = []
    bodies: list[tuple[int, M]] = []
    n = 0
    for line, row in _rows(path, required, optional, problems):
        n += 1
        bad: list[_BadField] = []
        data = build(row, policy, bad)
        found = [ImportProblem(line=line, field=b.field, reason=b.reason) for b in bad]
        try:
            body = model.model_validate(data)
        except ValidationError as exc:
            # a field already reported as unreadable is not reported again as missing
            reported = {p.field for p in found}
            found += [p for p in _validation_problems(line, exc, rename) if p.field not in reported]
        if found:
            problems.extend(found)
        else:
            bodies.append((line, body))
    return n, bodies, problems


def import_schemes(
    db_url: str,
    path: str | Path,
    *,
    clock: Clock | None = None,
    policy: WarningPolicy = DEFAULT_WARNING_POLICY,
    username: str = "scheme-import",
) -> ImportReport:
    """Check every row of ``path``; create all the schemes in one transaction, or none."""
    path = Path(path)
    now = (clock or SystemClock()).now()
    n, bodies, problems = _load(
        path, SchemeCreate, SCHEME_REQUIRED, SCHEME_OPTIONAL, _scheme_body, _SCHEME_FIELDS, policy
    )
    for line, body in bodies:
        for field, reason in check_new_scheme(body, now, policy):
            problems.append(ImportProblem(line=line, field=field, reason=reason))
    if problems:
        return ImportReport(
            kind="schemes", rows=n, applied=0, problems=sorted(problems, key=lambda p: p.line)
        )
    retention = ServerSettings(db_url=db_url).change_retention
    engine = make_engine(db_url)
    try:
        create_schema(engine)
        with write_tx(engine) as conn:
            changelog.lock_head(conn)
            for line, body in bodies:
                insert_scheme(
                    conn,
                    body,
                    now,
                    username,
                    retention,
                    policy,
                    how=f" (import {path.name} line {line})",
                )
    finally:
        engine.dispose()
    return ImportReport(kind="schemes", rows=n, applied=len(bodies))


def import_orders(
    db_url: str,
    path: str | Path,
    *,
    clock: Clock | None = None,
    policy: WarningPolicy = DEFAULT_WARNING_POLICY,
    username: str = "order-import",
) -> ImportReport:
    """Check every row of ``path``; create all the orders in one transaction, or none."""
    path = Path(path)
    now = (clock or SystemClock()).now()
    n, bodies, problems = _load(
        path, OrderCreate, ORDER_REQUIRED, ORDER_OPTIONAL, _order_body, _ORDER_FIELDS, policy
    )
    seen: dict[str, int] = {}
    for line, body in bodies:
        for field, reason in order_problems(body, local_today(now, policy)):
            problems.append(ImportProblem(line=line, field=_order_field(field), reason=reason))
        if body.source_ref in seen:
            problems.append(
                ImportProblem(
                    line=line,
                    field="source_ref",
                    reason=f"{body.source_ref!r} is also on line {seen[body.source_ref]}",
                )
            )
        seen.setdefault(body.source_ref, line)
    engine = make_engine(db_url)
    try:
        create_schema(engine)
        if not problems:
            with write_tx(engine) as conn:
                changelog.lock_head(conn)
                loaded = set(
                    conn.execute(
                        sa.select(protective_orders.c.source_ref).where(
                            protective_orders.c.source_ref.in_(list(seen))
                        )
                    ).scalars()
                )
                for line, body in bodies:
                    if body.source_ref in loaded:
                        problems.append(
                            ImportProblem(
                                line=line,
                                field="source_ref",
                                reason=f"an order with {body.source_ref!r} is already loaded",
                            )
                        )
                if not problems:
                    retention = ServerSettings(db_url=db_url).change_retention
                    for line, body in bodies:
                        insert_order(
                            conn,
                            body,
                            now,
                            username,
                            retention,
                            how=f" (import {path.name} line {line})",
                        )
    finally:
        engine.dispose()
    if problems:
        return ImportReport(
            kind="orders", rows=n, applied=0, problems=sorted(problems, key=lambda p: p.line)
        )
    return ImportReport(kind="orders", rows=n, applied=len(bodies))


def run_import(kind: str, db_url: str, path: str | Path) -> int:
    """``dispatchdesk import schemes|orders FILE.csv`` or ``import incidents FILE.jsonl``:
    print the report; 0 when applied, 1 when any row was bad (nothing applied)."""
    from dispatchdesk.server.features.history.imports import import_incidents

    loaders: dict[str, Callable[[str, str | Path], ImportReport]] = {
        "schemes": import_schemes,
        "orders": import_orders,
        "incidents": import_incidents,
    }
    report = loaders[kind](db_url, path)
    print(report_text(Path(path), report), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1
