"""Fleet import from CSV: every bad row reported by line and field; all or nothing."""

from __future__ import annotations

from pathlib import Path

from dispatchdesk.server import ServerSettings
from dispatchdesk.server.simulation.fleet import RowError, import_units

from .conftest import Desk

GOOD = """callsign,kind,borough,status,lat,lon
LX21,IRV,Westminster,,51.4975,-0.1357
lx22,Area car,Camden,off_duty,,

EK11,Dog,Camden,AVAILABLE,,
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_creates_the_fleet_visible_to_desks(
    settings: ServerSettings, desk: Desk, tmp_path: Path
) -> None:
    report = import_units(settings.db_url, write(tmp_path, GOOD))
    assert report.ok, report.text()
    assert report.created == ["LX21", "LX22", "EK11"]
    assert "3 units imported" in report.text()
    snap = desk.dan.get("/snapshot").json()
    assert [(u["callsign"], u["kind"], u["status"]) for u in snap["units"]] == [
        ("LX21", "IRV", "AVAILABLE"),
        ("LX22", "Area car", "OFF_DUTY"),
        ("EK11", "Dog", "AVAILABLE"),
    ]
    assert snap["units"][0]["lat"] == 51.4975
    assert [c["entity"] for c in desk.dan.get("/changes?since=0").json()["changes"]] == ["unit"] * 3
    assert any(a["username"] == "fleet-import" for a in desk.sue.get("/audit").json())
    # importing again: each callsign is reported, nothing applied
    again = import_units(settings.db_url, write(tmp_path, GOOD))
    assert not again.ok and again.created == []
    assert again.errors == [
        RowError(2, "callsign", "LX21 is already in the fleet"),
        RowError(3, "callsign", "LX22 is already in the fleet"),
        RowError(5, "callsign", "EK11 is already in the fleet"),
    ]
    assert len(desk.dan.get("/units").json()) == 3


def test_bad_rows_are_all_reported_and_nothing_is_applied(
    settings: ServerSettings, desk: Desk, tmp_path: Path
) -> None:
    text = """callsign,kind,borough,status,lat,lon
LX21,IRV,Westminster,,51.5,-0.13
L-X 9,IRV,Camden,,,
LX23,,Camden,ASSIGNED,,
LX24,Van,Camden,,north,
LX21,Dog,Camden,,,
LX25,Van
"""
    report = import_units(settings.db_url, write(tmp_path, text))
    assert not report.ok and report.created == []
    found = {(e.line, e.field) for e in report.errors}
    assert found == {
        (3, "callsign"),
        (4, "kind"),
        (4, "status"),
        (5, "lat"),
        (6, "callsign"),
        (7, "row"),
    }
    by = {(e.line, e.field): e.reason for e in report.errors}
    assert "also on line 2" in by[(6, "callsign")]
    assert "2 fields" in by[(7, "row")]
    assert "required" in by[(4, "kind")]
    assert "line 3, callsign:" in report.text() and "nothing imported" in report.text()
    assert desk.dan.get("/units").json() == []
    assert desk.dan.get("/changes?since=0").json()["changes"] == []


def test_header_problems(settings: ServerSettings, tmp_path: Path) -> None:
    report = import_units(settings.db_url, write(tmp_path, "callsign,type,borough\nLX1,IRV,x\n"))
    assert {(e.line, e.field) for e in report.errors} == {(1, "kind"), (1, "type")}
    empty = import_units(settings.db_url, write(tmp_path, ""))
    assert [e.field for e in empty.errors] == ["header"]
    missing = import_units(settings.db_url, tmp_path / "nope.csv")
    assert [e.field for e in missing.errors] == ["file"]
