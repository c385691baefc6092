"""Bulk load of schemes and orders: checked whole first, all or nothing."""
# ruff: noqa: E501  (CSV fixtures are kept one record per line)

from __future__ import annotations

from pathlib import Path

import pytest

from dispatchdesk.domain.clock import FakeClock
from dispatchdesk.server.imports import import_orders, import_schemes, report_text, run_import

from .conftest import Desk

SCHEMES_OK = """uprn,parent_uprn,usrn,address,postcode,category,summary,officer_in_case,starts_at,expires_at
100023336956,,22700001,"Rose House, 10 Mill Lane",E1 6AN,VICTIM_AT_RISK,DA victim; ex on bail,DC 1 Patel,2026-11-01T10:00,2027-04-30T10:00
,,,"22 Acacia Avenue",N1 9GU,officer_safety,Occupant threatened officers with a knife,PS 2 Jones,,2027-01-01
"""

SCHEMES_BAD = """uprn,address,postcode,category,summary,officer_in_case,starts_at,expires_at
100023336956,"Rose House, 10 Mill Lane",E1 6AN,VICTIM_AT_RISK,DA victim,DC 1 Patel,2026-11-01T10:00,2027-05-02T10:00
12AB,"1 High Street",SW1A 1AA,VICTIM_AT_RISK,Fine otherwise,DC 1 Patel,,2027-01-01
555,"2 High Street",SW1A 1AA,SPOOKY,Unknown category,DC 1 Patel,,2027-01-01
556,"3 High Street",SW1A 1AA,OTHER,Already over,DC 1 Patel,2026-05-01,2026-11-01
557,"4 High Street",SW1A 1AA,OTHER,Bad date,DC 1 Patel,,next tuesday
558,"5 High Street",SW1A 1AA,OTHER,Good row,DC 1 Patel,,2027-01-01
"""

ORDERS = """order_type,subject_name,subject_dob,protected_persons,location_address,location_postcode,location_uprn,conditions,issued_on,expires_on,source_ref
NON_MOLESTATION,Gary Hollis,1984-03-09,Dawn Hollis (1986-07-21); Amy Hollis,22 Acacia Avenue,N1 9GU,5550001,Not to contact,2026-05-24,2026-11-24,FAM-1
RESTRAINING,Ian Crow,,,,,,Not to enter Mill Lane,2026-01-10,,CRT-7
"""

ORDERS_BAD = """order_type,subject_name,subject_dob,protected_persons,conditions,issued_on,expires_on,source_ref
NON_MOLESTATION,Gary Hollis,1984-03-09,Dawn Hollis (21/07/1986),Not to contact,2026-05-24,2026-11-24,FAM-2
BANNING,,,,Not to enter,2026-13-01,,CRT-8
DVPO,Ann Other,,,Stay away,2026-11-20,2026-11-01,DV-1
DVPO,,,,Stay away,2026-11-20,,DV-2
DVPO,Sam Same,,,Stay away,2026-11-20,,FAM-1
DVPO,Sam Same,,,Stay away,2026-11-20,,DV-3
DVPO,Sam Same,,,Stay away,2026-11-20,,DV-3
"""


def _file(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_import_schemes_all_or_nothing(
    desk: Desk, db_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    report = import_schemes(db_url, _file(tmp_path, "bad.csv", SCHEMES_BAD), clock=clock)
    assert not report.ok and report.applied == 0 and report.rows == 6
    got = [(p.line, p.field) for p in report.problems]
    assert got == [
        (2, "expires_at"),
        (3, "uprn"),
        (4, "category"),
        (5, "expires_at"),
        (6, "expires_at"),
    ]
    reasons = {p.line: p.reason for p in report.problems}
    assert "at most 6 months" in reasons[2]
    assert "already expired" in reasons[5]
    assert "nothing imported, 5 problem(s)" in report_text(tmp_path / "bad.csv", report)
    assert desk.dan.get("/snapshot").json()["schemes"] == []
    assert desk.dan.get("/changes?since=0").json()["changes"] == []
    report = import_schemes(db_url, _file(tmp_path, "ok.csv", SCHEMES_OK), clock=clock)
    assert report.ok and report.applied == 2, report.problems
    snap = desk.dan.get("/snapshot").json()
    assert [s["category"] for s in snap["schemes"]] == ["VICTIM_AT_RISK", "OFFICER_SAFETY"]
    # a time without an offset is London time (GMT in November, BST in April)
    assert snap["schemes"][0]["starts_at"] == "2026-11-01T10:00:00Z"
    assert snap["schemes"][0]["expires_at"] == "2027-04-30T09:00:00Z"
    [w] = desk.cathy.get("/warnings", params={"address": "22 Acacia Ave"}).json()["warnings"]
    assert (w["kind"], w["match"], w["possible"]) == ("scheme", "address", True)
    audit = desk.sue.get("/audit").json()
    assert (
        sum(a["action"] == "create_scheme" and a["username"] == "scheme-import" for a in audit) == 2
    )


def test_import_orders_all_or_nothing(
    desk: Desk, db_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    report = import_orders(db_url, _file(tmp_path, "orders.csv", ORDERS), clock=clock)
    assert report.ok and report.applied == 2, report.problems
    orders = desk.dan.get("/snapshot").json()["orders"]
    assert [o["source_ref"] for o in orders] == ["FAM-1", "CRT-7"]
    assert orders[0]["protected_persons"] == [
        {"name": "Dawn Hollis", "dob": "1986-07-21"},
        {"name": "Amy Hollis", "dob": None},
    ]
    assert orders[1]["expires_on"] is None and orders[1]["locations"] == []
    report = import_orders(db_url, _file(tmp_path, "bad.csv", ORDERS_BAD), clock=clock)
    assert not report.ok and report.applied == 0
    got = [(p.line, p.field) for p in report.problems]
    # every problem of a row, not just its first
    assert got == [
        (2, "protected_persons"),
        (3, "issued_on"),
        (3, "order_type"),
        (3, "subject_name"),
        (4, "expires_on"),
        (5, "subject_name"),
        (8, "source_ref"),
    ]
    # the file's own duplicate is found first; the one already loaded once the file is clean
    fixed = "\n".join(ORDERS_BAD.splitlines()[:1] + ORDERS_BAD.splitlines()[5:7]) + "\n"
    report = import_orders(db_url, _file(tmp_path, "dup.csv", fixed), clock=clock)
    assert [(p.line, p.field) for p in report.problems] == [(2, "source_ref")]
    assert "already loaded" in report.problems[0].reason
    assert len(desk.dan.get("/snapshot").json()["orders"]) == 2


def test_import_file_problems(db_url: str, tmp_path: Path) -> None:
    report = import_schemes(db_url, tmp_path / "missing.csv")
    assert [(p.line, p.field) for p in report.problems] == [(0, "file")]
    report = import_schemes(db_url, _file(tmp_path, "cols.csv", "address,colour\nx,red\n"))
    fields = [p.field for p in report.problems]
    assert "category" in fields and "colour" in fields


def test_run_import_exit_codes(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_import("orders", db_url, _file(tmp_path, "o.csv", ORDERS)) == 0
    assert "2 orders imported" in capsys.readouterr().out
    assert run_import("orders", db_url, _file(tmp_path, "o.csv", ORDERS)) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err and "line 2, source_ref" in err


def test_refused_scheme_is_audited_as_a_scheme(desk: Desk) -> None:
    r = desk.sue.post(
        "/schemes",
        headers={"Idempotency-Key": "k1"},
        json={
            "location": {"address": "1 High Street"},
            "category": "OTHER",
            "summary": "x",
            "officer_in_case": "PC 1",
            "expires_at": "2027-12-01T00:00:00Z",
        },
    )
    assert r.status_code == 422
    [row] = [a for a in desk.sue.get("/audit").json() if a["action"] == "refused_create_scheme"]
    assert row["entity"] == "scheme" and "at most 6 months" in row["detail"]
