"""The desk: composition root of the Qt application.

Builds, in this order: the Qt application and theme, the qasync event loop (one loop for Qt and
asyncio), the cache and its worker thread, the server clock, the API client, the sync engine,
and the queue window. With ``--server`` the operator signs in through a non-modal dialog (the
token stays in memory); without it, the embedded demo backend starts in a worker thread and the
desk signs in as the demo user of ``--role``.

When a cache exists, the last known queue is on screen before any network call, so a desk
restarted while the backend is down shows the queue at once, OFFLINE, with the data's age;
commands issued then wait in the durable outbox until the operator has signed in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import linecache
import logging
import os
import sqlite3
import ssl
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")  # qasync would otherwise prefer PyQt if present

import httpx
import qasync
import sqlalchemy.exc
from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from dispatchdesk.app.config import Config, ConfigError, load_config, server_urls
from dispatchdesk.app.paths import cache_file, data_dir
from dispatchdesk.cache.store import CachedState, CacheStore
from dispatchdesk.cache.worker import CacheWorker
from dispatchdesk.domain.clock import ServerClock
from dispatchdesk.domain.commands import ConnectionInfo, ConnectionState
from dispatchdesk.domain.drafts import NEW_INCIDENT_FORM, FormDraft
from dispatchdesk.domain.incident import Incident
from dispatchdesk.domain.roles import Role
from dispatchdesk.gui.common import resources
from dispatchdesk.gui.common.settings_dialog import CentralSettings
from dispatchdesk.gui.common.signin import SignInDialog
from dispatchdesk.gui.common.theme import apply_theme
from dispatchdesk.gui.queue.model import INCIDENT_ROLE, Column
from dispatchdesk.gui.queue.window import QueueWindow, replay
from dispatchdesk.gui.relay import DeskRelay
from dispatchdesk.gui.warnings.texts import warning_ref, what_it_is
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.engine import SyncEngine
from dispatchdesk.sync.errors import ConnectionLost, DeskError, Unauthorized

log = logging.getLogger(__name__)


class Desk(QObject):
    """One operator's session: cache, engine, window, and the demo backend if there is one."""

    def __init__(
        self,
        config: Config,
        *,
        server_url: str | None,
        demo_role: Role,
        demo_rate: float,
        base_dir: Path,
        demo_history_hours: float = 2.0,
        username: str | None = None,
        password: str | None = None,
        other_servers: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.config = config
        #: The backend; the cache and the remembered sign-in belong to this URL.
        self.server_url = server_url
        #: Further API nodes of the same backend, tried in turn when one stops answering.
        self.other_servers = tuple(other_servers)
        self.demo_role = demo_role
        self.demo_rate = demo_rate
        self.demo_history = demo_history_hours
        self.username = username
        self.password = password
        self.base_dir = base_dir
        self.settings = QSettings()
        self.clock = ServerClock()
        #: The engine's listener for the whole run: the window is rebuilt when the signed-in
        #: role differs from the one it was opened with, but the engine (and its outbox) lives on.
        self.relay = DeskRelay(self)
        #: Set while the feed is live (for scripts and the frozen app's smoke test).
        self.online = asyncio.Event()
        self.relay.connection.connect(self._connection_changed)
        self.demo: object | None = None
        self.window: QueueWindow | None = None
        self.sign_in_dialog: SignInDialog | None = None
        self.engine: SyncEngine | None = None
        self.worker: CacheWorker | None = None
        self.client: ApiClient | None = None
        self._started = False
        self._window_role: Role | None = None
        self.last_sign_in_problem: str | None = None
        self._unshown_problems: list[str] = []
        #: The new-incident draft kept from the last run, until a window offers it.
        self._kept_draft: FormDraft | None = None
        if server_url is not None:
            self.relay.signed_out.connect(self._signed_out)
        self.closed = asyncio.Event()

    # --- start ----------------------------------------------------------------------------

    async def open(self) -> None:
        """Show the cached queue at once, then bring the backend and the sign-in."""
        forget_source_lines()  # before the queue loads: the start-up peak is then lower
        demo = None
        if self.server_url is None:
            from dispatchdesk.app.demo import DemoBackend

            demo = DemoBackend(
                self.base_dir, rate_per_minute=self.demo_rate, history_hours=self.demo_history
            )
            self.demo = demo
        cache_path = cache_file(self.base_dir, self.server_url)
        if demo is not None and demo.is_fresh:
            _remove_database(cache_path)  # a cache of an older demo database would not match
        # Read once: the check that the cache is readable is the load the queue shows.
        store, state, set_aside = await asyncio.to_thread(load_cache, cache_path)
        self.worker = CacheWorker(store)
        self.client = ApiClient(
            demo.url if demo is not None else (str(self.server_url), *self.other_servers),
            clock=self.clock,
            transport=client_transport(self.config),
        )
        self.engine = SyncEngine(
            self.client,
            self.worker,
            self.relay,
            self.clock,
            max_command_age=_minutes(self.config.max_command_age_minutes),
        )
        if demo is not None:
            self._show_window(self.demo_role, demo_username_for(self.demo_role))
        elif state.cursor is not None:
            last_role = Role(str(self.settings.value(self._role_key(), Role.CALL_HANDLER.value)))
            self._show_window(last_role, str(self.settings.value(self._user_key(), "")))
        if set_aside is not None:
            self._problem(
                f"The local cache could not be read and was set aside as {set_aside} "
                "for IT to examine; the queue is reloaded from the server."
            )
        if self.window is not None:  # through the relay, as the engine will
            self.relay.on_connection(
                ConnectionInfo(
                    ConnectionState.CONNECTING if demo else ConnectionState.OFFLINE,
                    state.last_synced_at,
                    "Starting the demo backend…" if demo else "Not signed in.",
                )
            )
        # Everything the cache holds, before any network call: queue, units board, outbox,
        # warning flags and panel (a desk restarted with the backend down shows them all).
        await self.engine.show_cache(state)  # the warnings follow (engine.cache_shown)
        # A new incident half typed when the desk last stopped: offered back above the queue.
        self._kept_draft = await self.engine.form_draft(NEW_INCIDENT_FORM)
        if self.window is not None:
            self._offer_kept_draft(self.window)
        forget_source_lines()
        if demo is not None:
            await self._start_demo()
            forget_source_lines()  # the embedded server's modules were imported after Qt
        elif self.username and self.password is not None:
            await self._sign_in(self.username, self.password)
            if not self._started:
                self._ask_sign_in()
        else:
            self._ask_sign_in()

    async def _start_demo(self) -> None:
        from dispatchdesk.app.demo import DemoBackend

        assert isinstance(self.demo, DemoBackend) and self.client is not None
        try:
            await asyncio.to_thread(self.demo.start)
        except Exception as exc:
            log.exception("demo backend failed")
            self._problem(f"The demo backend did not start: {exc}")
            return
        sign_in = self.demo.sign_in_for(self.demo_role)
        await self._sign_in(sign_in.username, sign_in.password)

    def _connection_changed(self, info: ConnectionInfo) -> None:
        if info.state is ConnectionState.ONLINE:
            self.online.set()
        else:
            self.online.clear()

    def _signed_out(self, _message: str) -> None:
        """The session ended on the server: ask for the password again, keeping the queue (the
        window shows the message)."""
        self._ask_sign_in()

    def _ask_sign_in(self) -> None:
        if self.sign_in_dialog is not None and self.sign_in_dialog.isVisible():
            self.sign_in_dialog.raise_()
            return
        username = self.username or str(self.settings.value(self._user_key(), ""))
        dialog = SignInDialog(self.server_url or "", username, parent=self.window)
        dialog.submitted.connect(self._on_submitted)
        dialog.rejected.connect(self._sign_in_cancelled)
        dialog.show()
        dialog.raise_()
        self.sign_in_dialog = dialog

    @qasync.asyncSlot(str, str, str)  # type: ignore[untyped-decorator]
    async def _on_submitted(self, url: str, username: str, password: str) -> None:
        assert self.client is not None
        nodes = {u.rstrip("/") for u in (self.server_url or "", *self.other_servers)}
        if url.rstrip("/") not in nodes:
            # Another server means another cache: never mix two servers' data.
            self._problem_in_dialog(
                "This desk was started for "
                f"{self.server_url}; restart it with --server {url} "
                "to use another server."
            )
            return
        await self._sign_in(username, password)

    def _sign_in_cancelled(self) -> None:
        if self.window is None:  # nothing on screen: cancelling sign-in quits
            self.closed.set()

    async def _sign_in(self, username: str, password: str) -> None:
        assert self.client is not None and self.engine is not None
        try:
            reply = await self.client.sign_in(username, password)
        except Unauthorized:
            self._problem_in_dialog("Wrong username or password.")
            return
        except ConnectionLost as exc:
            self._problem_in_dialog(
                f"Cannot reach the server: {exc}. "
                + (
                    "The last known queue is shown; sign in again when the server is back."
                    if self.window
                    else ""
                )
            )
            return
        except DeskError as exc:
            self._problem_in_dialog(f"Sign-in failed: {exc}")
            return
        self.settings.setValue(self._role_key(), reply.role.value)
        self.settings.setValue(self._user_key(), reply.username)
        if self.sign_in_dialog is not None:
            # Closing a QDialog emits rejected, which is "cancelled" (and, with no window yet,
            # quit): not when it closes because the sign-in worked.
            dialog, self.sign_in_dialog = self.sign_in_dialog, None
            dialog.rejected.disconnect(self._sign_in_cancelled)
            dialog.close()
        if self.window is None or self._window_role is not reply.role:
            self._show_window(reply.role, reply.username)
        if not self._started:
            self._started = True
            await self.engine.start()

    # --- window ---------------------------------------------------------------------------

    def _show_window(self, role: Role, username: str) -> None:
        assert self.engine is not None
        old = self.window
        window = QueueWindow(
            self.engine, role, self.clock.now, username, self.settings, relay=self.relay
        )
        nodes = ", ".join((self.server_url, *self.other_servers)) if self.server_url else None
        window.central_settings = CentralSettings(
            server_url=nodes,
            ca_bundle=self.config.ca_bundle,
            max_command_age_minutes=self.config.max_command_age_minutes,
            sources=self.config.sources,
            locked=self.config.locked,
        )
        window.closed.connect(self.closed.set)
        window.show()
        if self.server_url is not None:
            action = QAction("Sign in &again…", window)
            action.setShortcut(QKeySequence("Ctrl+Shift+I"))
            action.triggered.connect(self._ask_sign_in)
            window.menuBar().addMenu("&Session").addAction(action)
        self.window = window
        for message in self._unshown_problems:
            window.show_problem(message)
        self._unshown_problems.clear()
        self._window_role = role
        if old is not None:
            # A draft still on offer moves to the new window; the old one closes unasked
            # (the engine, its outbox and the cache live on).
            self._kept_draft = old.incidents.draft_to_carry()
            old.quit_guard.confirmed = True
            old.incidents.keep_draft_now()
        self._offer_kept_draft(window)
        if old is not None:
            old.closed.disconnect(self.closed.set)
            old.close()  # it lets go of the relay
            replay(old, self.relay)  # what it showed, to the new window only

    def _offer_kept_draft(self, window: QueueWindow) -> None:
        draft, self._kept_draft = self._kept_draft, None
        if draft is not None:
            window.incidents.offer_draft(draft)

    def _problem(self, message: str) -> None:
        if self.window is not None:
            self.window.show_problem(message)
        else:  # shown as soon as there is a window
            log.error("%s", message)
            self._unshown_problems.append(message)

    def _problem_in_dialog(self, message: str) -> None:
        if self.sign_in_dialog is not None:
            self.sign_in_dialog.show_error(message)
        else:
            self._problem(message)
        self.last_sign_in_problem = message

    def _role_key(self) -> str:
        return f"servers/{_slug(self.server_url)}/role"

    def _user_key(self) -> str:
        return f"servers/{_slug(self.server_url)}/username"

    # --- stop -----------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Close the stream and the client, finish cache writes, stop the demo backend."""
        if self.engine is not None:
            await self.engine.stop()  # also the scheme expiry running since the cache showed
        elif self.client is not None:
            await self.client.aclose()
        if self.worker is not None:
            await asyncio.to_thread(self.worker.close)
        from dispatchdesk.app.demo import DemoBackend

        if isinstance(self.demo, DemoBackend):
            await asyncio.to_thread(self.demo.stop)


def open_cache(path: Path) -> tuple[CacheStore, Path | None]:
    """Open the cache; an unreadable one is renamed aside (kept, never deleted) and replaced.

    A desk that cannot start because of a damaged cache file would hide the live queue; the
    server has everything but unsent commands, and the old file keeps those for IT.
    """
    store, _state, aside = load_cache(path)
    return store, aside


def load_cache(path: Path) -> tuple[CacheStore, CachedState, Path | None]:
    """:func:`open_cache`, with what the cache holds (:meth:`CacheStore.load`): the load that
    proves the file readable is the one the desk shows (50,000 incidents are read once)."""
    try:
        store = CacheStore(path)
        return store, store.load(), None
    except (sqlalchemy.exc.DatabaseError, sqlite3.DatabaseError, ValueError) as exc:
        log.error("cache %s unreadable: %s", path, exc)
    aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(Path(f"{aside}{suffix}"))
    store = CacheStore(path)
    return store, store.load(), aside


def forget_source_lines() -> None:
    """Drop the source lines :mod:`linecache` holds.

    PySide6's ``__feature__`` import hook reads the source of every module imported after Qt
    (it looks for "PySide6" in it) and :mod:`linecache` keeps every line for the life of the
    process: some 20 MB once SQLAlchemy, httpx and pydantic, or the demo's server, come after
    Qt. Only tracebacks read those lines, and they read the file again when it is not held.
    """
    linecache.clearcache()


def client_transport(config: Config) -> httpx.AsyncBaseTransport | None:
    """A transport that trusts the force's private CA when ``ca_bundle`` is set.

    The bundle replaces the public CA list: a control-room backend is signed by the force's
    own CA, and nothing else should be trusted for it.
    """
    if not config.ca_bundle:
        return None
    try:
        context = ssl.create_default_context(cafile=config.ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"ca_bundle {config.ca_bundle}: cannot be read as PEM certificates ({exc})"
        ) from exc
    return httpx.AsyncHTTPTransport(verify=context)


def demo_username_for(role: Role) -> str:
    from dispatchdesk.app.demo import demo_username

    return demo_username(role)


def _slug(url: str | None) -> str:
    return "demo" if url is None else "".join(c if c.isalnum() else "_" for c in url)


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_desk(args: argparse.Namespace) -> int:
    """Run the desk until its window closes. Returns the process exit code."""
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"dispatchdesk: {exc}", file=sys.stderr)
        return 2
    servers = server_urls(config, args.server)
    server_url = servers[0] if servers else None
    base = data_dir(args.data_dir or config.data_dir)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName("DispatchDesk")
    app.setApplicationName("Dispatch Desk")
    app.setWindowIcon(resources.app_icon())  # window and taskbar
    app.setDesktopFileName("dispatchdesk")  # matches packaging's .desktop entry
    apply_theme(app, args.theme or config.theme)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    password = _read_password() if args.password_stdin else None
    desk = Desk(
        config,
        server_url=server_url,
        demo_role=Role(args.role),
        demo_rate=args.rate,
        base_dir=base,
        username=args.user,
        password=password,
        other_servers=servers[1:],
    )
    app.setQuitOnLastWindowClosed(False)  # quit when the desk is done, after a clean shutdown
    outcome = 0

    async def main() -> None:
        nonlocal outcome
        try:
            await desk.open()
        except ConfigError as exc:
            print(f"dispatchdesk: {exc}", file=sys.stderr)
            outcome = 2
            return
        printer = asyncio.create_task(_print_shown(desk)) if args.print_shown else None
        if args.exit_when_shown:
            outcome = await _report_when_shown(desk, args.exit_when_shown)
        else:
            await desk.closed.wait()
        if printer is not None:
            printer.cancel()
        await desk.shutdown()

    with loop:
        loop.run_until_complete(main())
    return outcome


def _read_password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


async def _report_when_shown(desk: Desk, timeout: float) -> int:
    """Smoke test for scripts and the frozen app: wait until the queue is live, say so, close."""
    try:
        await asyncio.wait_for(desk.online.wait(), timeout)
    except TimeoutError:
        reason = desk.last_sign_in_problem or "the feed did not come online"
        print(f"dispatchdesk: queue not live after {timeout:g} s: {reason}", file=sys.stderr)
        return 1
    window = desk.window
    assert window is not None
    print(
        f"Dispatch Desk: queue shown, {window.proxy.rowCount()} of "
        f"{window.model.rowCount()} incidents, online as {window.windowTitle()}",
        flush=True,
    )
    window.quit_guard.confirmed = True  # a script's run: nothing to ask
    window.close()
    return 0


async def _print_shown(desk: Desk) -> None:
    """``--print-shown``: a JSON line of :func:`shown_summary` once everything in the cache is
    on screen (source "cache", only if there is a window then), and another once the feed is
    live (source "online"); each after the warning flags of the whole queue are computed."""
    assert desk.engine is not None
    await desk.engine.cache_shown()
    if desk.window is not None:
        await _flags_computed(desk.window)
        print(json.dumps(shown_summary(desk.window, "cache")), flush=True)
    await desk.online.wait()
    assert desk.window is not None
    await _flags_computed(desk.window)
    print(json.dumps(shown_summary(desk.window, "online")), flush=True)


async def _flags_computed(window: QueueWindow) -> None:
    while window.incident_warnings.busy:
        await asyncio.sleep(0.05)


def shown_summary(window: QueueWindow, source: str) -> dict[str, object]:
    """What the window shows, for tests and support (never addresses or summaries):
    ``flags``: the flags column's text per incident ref (incidents with a warning flag only);
    ``warnings``: per such incident, what Ctrl+W puts on the warning panel ("scheme 12:
    Special scheme — Victim at risk"); ``units``: callsigns on the units board."""
    model, flagged = window.model, window.incident_warnings
    flags: dict[str, str] = {}
    warnings: dict[str, list[str]] = {}
    for row in range(model.rowCount()):
        incident = model.index(row, 0).data(INCIDENT_ROLE)
        if not isinstance(incident, Incident) or not flagged.marks(incident.id):
            continue
        flags[incident.ref] = str(model.index(row, Column.FLAGS).data())
        warnings[incident.ref] = [
            f"{ref.kind} {ref.entity_id}: {what_it_is(w)}"
            for w in flagged.for_incident(incident)
            for ref in (warning_ref(w),)
        ]
    return {
        "source": source,
        "incidents": model.rowCount(),
        "flags": flags,
        "warnings": warnings,
        "units": sorted(u.callsign for u in window.units()),
    }
