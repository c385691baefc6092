"""``dispatchdesk import incidents FILE.jsonl --db URL``: past incidents from a force's old
system, so history covers the years before this server.

One JSON object a line (:class:`~dispatchdesk.protocol.history.IncidentImport`): an incident
as ``POST /incidents`` takes it (persons and the caller with their roles, ``weapons``) plus its
``ref`` (kept), ``created_at``, ``closed_at`` and closing ``rationale`` (together), and
``attended_at``. Blank lines are skipped.

The whole file is checked first with the API's rules (reference lists, address, dates of birth)
and these: no time in the future, closed after created, attended between them, a rationale
exactly when closed, no ref twice in the file or already stored. Every problem is reported by
line, field and reason, and then nothing is applied; otherwise every incident is stored in one
transaction with its history search keys and an audit row. Incidents a desk holds (open, or
closed since the start of the control room's day) also go into the change log, so running
desks receive them; older closed ones do not (a snapshot would not carry them either, and a
five-year load would push every desk's cursor out of the retained log).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Engine

from dispatchdesk.domain.clock import Clock
from dispatchdesk.domain.incident import IncidentStatus
from dispatchdesk.protocol.history import IncidentImport
from dispatchdesk.protocol.warnings import ImportProblem, ImportReport
from dispatchdesk.server import changelog
from dispatchdesk.server.db import (
    audit_row,
    create_schema,
    incidents,
    make_engine,
    ref_counters,
    write_tx,
)
from dispatchdesk.server.features.history.keys import write_keys
from dispatchdesk.server.features.history.records import incidents_out
from dispatchdesk.server.reference import checked_incident
from dispatchdesk.server.runner import retried
from dispatchdesk.server.settings import ServerSettings

#: Incidents inserted per statement.
CHUNK = 1_000
#: A reference this server hands out: its day's counter is moved past imported ones.
_OWN_REF = re.compile(r"^CAD (\d{4})/(\d{2}[A-Z]{3}\d{2})$")


def _lines(path: Path, problems: list[ImportProblem]) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as exc:
        problems.append(
            ImportProblem(line=0, field="file", reason=f"cannot be read: {exc.strerror or exc}")
        )
        return
    with handle:
        try:
            for n, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    data = json.loads(text)
                except json.JSONDecodeError as exc:
                    problems.append(
                        ImportProblem(line=n, field="line", reason=f"is not JSON: {exc.msg}")
                    )
                    continue
                if not isinstance(data, dict):
                    problems.append(
                        ImportProblem(line=n, field="line", reason="is not a JSON object")
                    )
                    continue
                yield n, data
        except UnicodeDecodeError as exc:
            problems.append(
                ImportProblem(line=0, field="file", reason=f"is not UTF-8 text: {exc.reason}")
            )


def _time_problems(body: IncidentImport, now: datetime) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if body.created_at > now:
        out.append(("created_at", "is in the future"))
    if body.closed_at is not None:
        if body.closed_at < body.created_at:
            out.append(("closed_at", "is before created_at"))
        if body.closed_at > now:
            out.append(("closed_at", "is in the future"))
        if not (body.rationale or "").strip():
            out.append(("rationale", "a closed incident needs its closing rationale"))
    elif body.rationale:
        out.append(("closed_at", "a closing rationale is given but no closed_at"))
    if body.attended_at is not None:
        if body.attended_at < body.created_at:
            out.append(("attended_at", "is before created_at"))
        if body.attended_at > (body.closed_at or now):
            out.append(("attended_at", "is after closed_at (or in the future)"))
    return out


def check_file(
    path: Path, settings: ServerSettings, now: datetime
) -> tuple[int, list[tuple[int, IncidentImport]], list[ImportProblem]]:
    """(lines read, the valid incidents with their line, every problem found)."""
    problems: list[ImportProblem] = []
    bodies: list[tuple[int, IncidentImport]] = []
    seen: dict[str, int] = {}
    today = now.astimezone(_tz(settings)).date()
    n = 0
    for line, data in _lines(path, problems):
        n += 1
        try:
            body = IncidentImport.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "line"
                problems.append(ImportProblem(line=line, field=field, reason=err["msg"]))
            continue
        checked, found = checked_incident(body, settings.reference_lists, today)
        assert isinstance(checked, IncidentImport)  # model_copy keeps the class
        body = checked
        bad = [(".".join(str(p) for p in loc), msg) for loc, msg in found]
        bad += _time_problems(body, now)
        if body.ref in seen:
            bad.append(("ref", f"{body.ref!r} is also on line {seen[body.ref]}"))
        seen.setdefault(body.ref, line)
        problems += [ImportProblem(line=line, field=f, reason=r) for f, r in bad]
        if not bad:
            bodies.append((line, body))
    return n, bodies, problems


def _tz(settings: ServerSettings) -> ZoneInfo:
    return ZoneInfo(settings.policy.timezone)


def _row(body: IncidentImport, settings: ServerSettings) -> dict[str, Any]:
    created = body.created_at.astimezone(UTC)
    appointment = body.appointment_at.astimezone(UTC) if body.appointment_at else None
    closed = body.closed_at.astimezone(UTC) if body.closed_at else None
    attended = body.attended_at.astimezone(UTC) if body.attended_at else None
    status = (
        IncidentStatus.CLOSED
        if closed
        else IncidentStatus.AT_SCENE
        if attended
        else IncidentStatus.OPEN
    )
    return {
        "ref": body.ref,
        "version": 1,
        "grade": body.grade.value,
        "original_grade": body.grade.value,
        "status": status.value,
        "created_at": created,
        "deadline": settings.policy.deadline(body.grade, created, appointment),
        "type": body.type,
        "summary": body.summary,
        "location": body.location.model_dump(mode="json"),
        "caller": body.caller.model_dump(mode="json"),
        "persons": [p.model_dump(mode="json") for p in body.persons],
        "appointment_at": appointment,
        "attended_at": attended,
        "closed_at": closed,
        "updated_at": closed or attended or created,
        "rationale": body.rationale if closed else None,
        "weapons": body.weapons,
    }


def _advance_counters(conn: Connection, refs: list[str], settings: ServerSettings) -> None:
    """Days whose counter an imported ``CAD nnnn/DDMONYY`` ref reaches start after it."""
    top: dict[str, int] = {}
    for ref in refs:
        m = _OWN_REF.match(ref)
        if m is None:
            continue
        try:
            day = datetime.strptime(m.group(2), "%d%b%y").date().isoformat()
        except ValueError:
            continue
        top[day] = max(top.get(day, 0), int(m.group(1)))
    for day, n in top.items():
        have = conn.execute(sa.select(ref_counters.c.n).where(ref_counters.c.day == day)).scalar()
        if have is None:
            conn.execute(ref_counters.insert().values(day=day, n=n))
        elif have < n:
            conn.execute(ref_counters.update().where(ref_counters.c.day == day).values(n=n))


def _store(
    conn: Connection,
    bodies: list[tuple[int, IncidentImport]],
    settings: ServerSettings,
    now: datetime,
    username: str,
    source: str,
) -> None:
    start_of_day = datetime.combine(
        now.astimezone(_tz(settings)).date(), datetime.min.time(), tzinfo=_tz(settings)
    )
    for first in range(0, len(bodies), CHUNK):
        chunk = bodies[first : first + CHUNK]
        conn.execute(incidents.insert(), [_row(b, settings) for _, b in chunk])
        by_ref = {b.ref: line for line, b in chunk}
        stored = conn.execute(sa.select(incidents).where(incidents.c.ref.in_(list(by_ref)))).all()
        write_keys(conn, stored)
        for r in stored:
            audit_row(
                conn,
                now,
                username,
                "import_incident",
                "incident",
                r.id,
                f"Imported {r.ref} ({source} line {by_ref[r.ref]})",
            )
        live = [
            r
            for r in stored
            if r.status != IncidentStatus.CLOSED.value or r.closed_at >= start_of_day
        ]
        for out in incidents_out(conn, live).values():
            changelog.append(
                conn,
                entity="incident",
                entity_id=out.id,
                data=out.model_dump(mode="json"),
                now=now,
                retention=settings.change_retention,
            )
    _advance_counters(conn, [b.ref for _, b in bodies], settings)


def _store_new(
    engine: Engine,
    bodies: list[tuple[int, IncidentImport]],
    settings: ServerSettings,
    now: datetime,
    username: str,
    path: Path,
) -> list[ImportProblem]:
    """Store every incident in one transaction, or none if a ref is already stored (those
    are the problems returned)."""
    with write_tx(engine) as conn:
        changelog.lock_head(conn)
        refs = [b.ref for _, b in bodies]
        taken: set[str] = set()
        for first in range(0, len(refs), CHUNK):
            taken.update(
                conn.execute(
                    sa.select(incidents.c.ref).where(
                        incidents.c.ref.in_(refs[first : first + CHUNK])
                    )
                ).scalars()
            )
        problems = [
            ImportProblem(line=line, field="ref", reason=f"{b.ref!r} is already stored")
            for line, b in bodies
            if b.ref in taken
        ]
        if not problems:
            _store(conn, bodies, settings, now, username, f"import {path.name}")
        return problems


def import_incidents(
    db_url: str,
    path: str | Path,
    *,
    clock: Clock | None = None,
    settings: ServerSettings | None = None,
    username: str = "incident-import",
) -> ImportReport:
    """Check every line of ``path``; store all the incidents in one transaction, or none."""
    path = Path(path)
    settings = settings or ServerSettings(db_url=db_url)
    now = (clock or settings.clock).now().astimezone(UTC)
    n, bodies, problems = check_file(path, settings, now)
    engine = make_engine(db_url)
    try:
        create_schema(engine)
        if not problems:  # a deadlock's victim applied nothing: again
            problems = retried(lambda: _store_new(engine, bodies, settings, now, username, path))
    finally:
        engine.dispose()
    if problems:
        return ImportReport(
            kind="incidents", rows=n, applied=0, problems=sorted(problems, key=lambda p: p.line)
        )
    return ImportReport(kind="incidents", rows=n, applied=len(bodies))
