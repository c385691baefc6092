"""The installable desk: build the PyInstaller bundle, run it frozen against a reference server,
and wrap it in a .deb.

The bundle is built by ``packaging/build.sh`` into ``packaging/out/`` (git-ignored) and reused
while its inputs are unchanged, so only the first run pays the ~60 s build. Deselect with
``-m "not bundle"``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatchdesk.domain.roles import Role
from dispatchdesk.server import EmbeddedServer, ServerSettings, add_user
from dispatchdesk.server.simulation.simulator import Simulator

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle and .deb"),
    pytest.mark.timeout(400),
]

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "packaging" / "out"
BUNDLE = OUT / "dist" / "dispatchdesk"
PASSWORD = "correct horse battery"


def _clean_env(home: Path) -> dict[str, str]:
    """A workstation's environment: no Python settings, a fresh home, no central config."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "VIRTUAL_ENV", "UV_", "QT_", "XDG_"))
    }
    env.update(
        HOME=str(home),
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        DISPATCHDESK_SYSTEM_CONFIG=str(home / "no-system-config.toml"),
    )
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # no venv
    return env


@pytest.fixture(scope="module")
def bundle() -> Path:
    env = {**os.environ, "DISPATCHDESK_PYTHON": sys.executable}
    started = time.monotonic()
    done = subprocess.run(
        [str(ROOT / "packaging" / "build.sh")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    exe = BUNDLE / "dispatchdesk"
    assert exe.is_file() and os.access(exe, os.X_OK)
    size_mb = (
        sum(p.lstat().st_size for p in BUNDLE.rglob("*") if p.is_file() and not p.is_symlink())
        / 1e6
    )
    print(
        f"\nbundle: {size_mb:.0f} MB, build step {time.monotonic() - started:.0f} s "
        f"({done.stdout.strip().splitlines()[-1]})"
    )
    return BUNDLE


def test_bundle_has_no_loose_forms_stylesheets_or_python_sources(bundle: Path) -> None:
    loose = [p.name for p in bundle.rglob("*") if p.suffix in {".ui", ".qss", ".qrc"}]
    assert not loose, f"the frozen app must take these from the compiled modules: {loose}"
    assert not list(bundle.rglob("dispatchdesk/**/*.py")), "sources should be in the PYZ only"


@pytest.fixture
def reference_server(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'server.db'}"
    add_user(db, "operator", Role.DISPATCHER, PASSWORD)
    add_user(db, "sim", Role.DISPATCHER, PASSWORD)
    with EmbeddedServer(ServerSettings(db_url=db, port=0)) as server:

        async def feed() -> None:
            sim = Simulator(server.url, "sim", PASSWORD, rate_per_minute=6000, seed=7)
            run = asyncio.create_task(sim.run(max_incidents=5))
            try:
                while sim.created < 5 and not run.done():
                    await asyncio.sleep(0.02)
                sim.stop()  # their lives would go on for minutes
                await asyncio.wait_for(run, 5)
            finally:
                await sim.aclose()

        asyncio.run(feed())
        yield server


@pytest.fixture
def display(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """``offscreen``, or a real X server (Xvfb) for Qt's xcb platform, as the .deb targets."""
    if request.param == "offscreen":
        yield {"QT_QPA_PLATFORM": "offscreen"}
        return
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert xvfb.stdout is not None
        number = xvfb.stdout.readline().strip()
        assert number.isdigit(), "Xvfb did not start"
        yield {"QT_QPA_PLATFORM": "xcb", "DISPLAY": f":{number}"}
    finally:
        xvfb.terminate()
        xvfb.wait(10)


@pytest.mark.parametrize("display", ["offscreen", "xcb"], indirect=True)
def test_frozen_app_signs_in_shows_the_queue_and_exits(
    bundle: Path, reference_server: EmbeddedServer, display: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**_clean_env(home), **display}
    started = time.monotonic()
    done = subprocess.run(
        [
            str(bundle / "dispatchdesk"),
            "--server",
            reference_server.url,
            "--user",
            "operator",
            "--password-stdin",
            "--exit-when-shown",
            "60",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,  # not the checkout: nothing loose to find
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    assert "Dispatch Desk: queue shown, 5 of 5 incidents, online as" in done.stdout, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    print(
        f"\nfrozen start to live queue and clean exit ({display['QT_QPA_PLATFORM']}): "
        f"{seconds:.2f} s"
    )


def test_frozen_cli_runs_without_qt_commands(bundle: Path, tmp_path: Path) -> None:
    """The bundle also carries the server commands (``users add`` here)."""
    done = subprocess.run(
        [
            str(bundle / "dispatchdesk"),
            "users",
            "add",
            "someone",
            "--role",
            "supervisor",
            "--db",
            f"sqlite:///{tmp_path / 'admin.db'}",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert "user someone (supervisor) saved" in done.stdout


def test_deb_has_depends_desktop_entry_and_icon(bundle: Path) -> None:
    done = subprocess.run(
        [str(ROOT / "packaging" / "linux" / "build-deb.sh"), str(bundle), str(OUT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    deb = next(OUT.glob("dispatchdesk_*.deb"))
    info = subprocess.run(
        ["dpkg-deb", "--info", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    depends = next(line for line in info.splitlines() if line.strip().startswith("Depends:"))
    for package in ("libxcb-cursor0", "libxkbcommon-x11-0", "libegl1", "libfontconfig1"):
        assert package in depends
    files = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    for path in (
        "./opt/dispatchdesk/dispatchdesk",
        "./usr/bin/dispatchdesk",
        "./usr/share/applications/dispatchdesk.desktop",
        "./usr/share/icons/hicolor/scalable/apps/dispatchdesk.svg",
        "./usr/share/doc/dispatchdesk/copyright",
    ):
        assert path in files, path
    desktop = subprocess.run(
        f"dpkg-deb --fsys-tarfile '{deb}' | tar -xOf - --wildcards './usr/share/applications/*'",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Exec=dispatchdesk" in desktop and "Icon=dispatchdesk" in desktop
    print(f"\n.deb: {deb.stat().st_size / 1e6:.0f} MB")
