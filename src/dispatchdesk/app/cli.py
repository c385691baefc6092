"""``dispatchdesk`` command line.

    dispatchdesk [--server URL] [--role ROLE]      the desk (embedded demo backend without --server)
    dispatchdesk serve [--db URL] [--host H] [--port P] [--certfile F --keyfile F]
                       [--workers N]   (N > 1: PostgreSQL or an SQLite file)
    dispatchdesk users add NAME --role ROLE [--db URL]      (password read from stdin)
    dispatchdesk users list|disable NAME|enable NAME [--db URL]
    dispatchdesk audit verify [--db URL]
    dispatchdesk simulate --server URL --user NAME --rate N [--seed S]   (password from stdin)
    dispatchdesk units import FILE.csv [--db URL]
    dispatchdesk import schemes|orders FILE.csv [--db URL]
    dispatchdesk import incidents FILE.jsonl [--db URL]

Only the desk imports Qt, and only when it starts, so the server commands run on a headless
host without Qt's libraries.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Sequence
from typing import Any

from dispatchdesk.app.paths import data_dir, default_server_db
from dispatchdesk.domain.roles import Role

ROLES = [r.value for r in Role]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dispatchdesk",
        description="Dispatch Desk: the live incident queue for police contact centres.",
    )
    _desk_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _serve_command(commands)
    _users_command(commands)
    _import_commands(commands)
    _simulate_command(commands)
    return parser


def _desk_options(parser: argparse.ArgumentParser) -> None:
    """The desk's own options (no COMMAND)."""
    parser.add_argument(
        "--server",
        metavar="URL",
        action="append",
        help="backend to sign in to (default: an embedded demo backend); give it again for "
        "each further API node of the same backend, tried in order when one stops answering",
    )
    parser.add_argument(
        "--role",
        choices=ROLES,
        default="dispatcher",
        help="demo backend only: the role to sign in as (default: dispatcher)",
    )
    parser.add_argument("--user", metavar="NAME", help="sign-in name to fill in")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin and sign in without the dialog",
    )
    parser.add_argument(
        "--exit-when-shown",
        type=float,
        metavar="SECONDS",
        default=None,
        help="smoke test: exit 0 once the queue is live (1 if not within SECONDS)",
    )
    # Diagnostics for tests and support, not for operators (so not in --help): print one JSON
    # line of what the window shows once the cache is on screen, and one once the feed is live
    # (see dispatchdesk.app.desk.shown_summary).
    parser.add_argument("--print-shown", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", metavar="DIR", help="where the cache and demo data live")
    parser.add_argument("--theme", choices=["normal", "high-contrast"], help="colour theme")
    parser.add_argument(
        "--rate",
        type=float,
        default=4.0,
        metavar="N",
        help="demo backend only: simulated incidents per minute (default 4)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")


def _serve_command(commands: Any) -> None:
    """``serve``: the reference backend."""
    serve = commands.add_parser("serve", help="run the reference backend")
    serve.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL: sqlite:///FILE (default) or postgresql+psycopg://...",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--certfile", metavar="F", help="serve HTTPS: certificate chain (PEM)")
    serve.add_argument("--keyfile", metavar="F", help="serve HTTPS: its private key (PEM)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes on the one port (PostgreSQL or an SQLite file; default 1)",
    )


def _users_command(commands: Any) -> None:
    """``users add`` here; ``users list|disable|enable`` and ``audit verify`` below."""
    users = commands.add_parser("users", help="manage sign-ins on the reference backend")
    users_commands = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = users_commands.add_parser("add", help="create a sign-in (password read from stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--db", metavar="URL", help="same URL as 'serve --db'")
    _admin_commands(commands, users_commands)


def _import_commands(commands: Any) -> None:
    """``units import`` and ``import schemes|orders|incidents``."""
    fleet = commands.add_parser("units", help="manage the fleet on the reference backend")
    fleet_commands = fleet.add_subparsers(dest="units_command", metavar="ACTION", required=True)
    fleet_import = fleet_commands.add_parser(
        "import", help="load units from a CSV file (all rows or none)"
    )
    fleet_import.add_argument("file", metavar="FILE.csv")
    fleet_import.add_argument("--db", metavar="URL", help="same URL as 'serve --db'")

    bulk = commands.add_parser(
        "import", help="bulk-load schemes, orders or past incidents (all rows or none)"
    )
    bulk.add_argument("kind", choices=["schemes", "orders", "incidents"])
    bulk.add_argument("file", metavar="FILE", help="FILE.csv (schemes, orders), FILE.jsonl")
    bulk.add_argument("--db", metavar="URL", help="same URL as 'serve --db'")


def _simulate_command(commands: Any) -> None:
    """``simulate``: feed realistic incidents to a backend over HTTP."""
    simulate = commands.add_parser("simulate", help="feed realistic incidents to a backend")
    simulate.add_argument("--server", required=True, metavar="URL", dest="sim_server")
    simulate.add_argument(
        "--user",
        required=True,
        metavar="NAME",
        help="a dispatcher or supervisor sign-in (password read from stdin)",
    )
    simulate.add_argument(
        "--rate",
        type=float,
        required=True,
        metavar="N",
        help="new incidents per minute",
        dest="sim_rate",
    )
    simulate.add_argument("--seed", type=int, help="repeatable run")
    simulate.add_argument(
        "--speed", type=float, default=1.0, help="run the incidents' lives this many times faster"
    )
    simulate.add_argument("--count", type=int, help="stop after this many incidents")
    simulate.add_argument("--duration", type=float, help="stop after this many seconds")
    simulate.add_argument(
        "--units",
        type=int,
        default=0,
        metavar="N",
        help="first add a fleet of N units (needs a supervisor sign-in)",
    )


def _admin_commands(commands: Any, users_commands: Any) -> None:
    """``users list|disable|enable`` and ``audit verify``."""
    listing = users_commands.add_parser("list", help="every sign-in, its role and state")
    listing.add_argument("--db", metavar="URL", help="same URL as 'serve --db'")
    for action, about in (
        ("disable", "stop a sign-in: it cannot sign in and its sessions end at once"),
        ("enable", "let a disabled sign-in sign in again"),
    ):
        switch = users_commands.add_parser(action, help=about)
        switch.add_argument("name")
        switch.add_argument("--db", metavar="URL", help="same URL as 'serve --db'")

    audit = commands.add_parser("audit", help="check the reference backend's audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = audit_commands.add_parser(
        "verify", help="check the audit hash chain; name the first edited, inserted or deleted row"
    )
    verify.add_argument("--db", metavar="URL", help="same URL as 'serve --db'")


def read_password(prompt: str) -> str:
    """From the terminal without echo, or the first line of stdin when piped."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return _serve(args)
    if args.command == "users":
        return _users(args)
    if args.command == "audit":
        return _audit_verify(args)
    if args.command == "simulate":
        return _simulate(args)
    if args.command == "units":
        return _units_import(args)
    if args.command == "import":
        return _bulk_import(args)
    # The non-Qt stack first: PySide6 installs an import hook that reads the source of every
    # module imported after it (~0.4 s for SQLAlchemy, httpx and pydantic at start).
    import dispatchdesk.cache.store
    import dispatchdesk.sync.engine  # noqa: F401
    from dispatchdesk.app.desk import run_desk  # Qt is imported only here

    return run_desk(args)


def _db_url(args: argparse.Namespace) -> str:
    return str(args.db) if args.db else default_server_db(data_dir(args.data_dir))


def _serve(args: argparse.Namespace) -> int:
    from dispatchdesk.server import ServerSettings, serve
    from dispatchdesk.server.embedded import check_workers

    if (args.certfile is None) != (args.keyfile is None):
        print("dispatchdesk: give both --certfile and --keyfile to serve HTTPS", file=sys.stderr)
        return 2
    settings = ServerSettings(
        db_url=_db_url(args),
        host=args.host,
        port=args.port,
        certfile=args.certfile,
        keyfile=args.keyfile,
    )
    try:
        check_workers(settings, args.workers)
    except ValueError as exc:
        print(f"dispatchdesk: {exc}", file=sys.stderr)
        return 2
    serve(settings, workers=args.workers)
    return 0


def _users(args: argparse.Namespace) -> int:
    from dispatchdesk.server.users import list_users, set_disabled

    if args.users_command == "add":
        return _users_add(args)
    if args.users_command == "list":
        for u in list_users(_db_url(args)):
            state = "disabled" if u.disabled else "enabled"
            print(f"{u.username}\t{u.role.value}\t{state}\t{u.live_tokens} live session(s)")
        return 0
    try:
        set_disabled(_db_url(args), args.name, args.users_command == "disable")
    except LookupError as exc:
        print(f"dispatchdesk: {exc}", file=sys.stderr)
        return 1
    print(f"user {args.name} {args.users_command}d")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from dispatchdesk.server.db import make_engine
    from dispatchdesk.server.features.audit.verify import verify_chain

    engine = make_engine(_db_url(args))
    try:
        report = verify_chain(engine)
    finally:
        engine.dispose()
    print(report.text(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def _users_add(args: argparse.Namespace) -> int:
    from dispatchdesk.server import add_user

    password = read_password(f"Password for {args.name}: ")
    if len(password) < 8:
        print("dispatchdesk: a password needs at least 8 characters", file=sys.stderr)
        return 2
    add_user(_db_url(args), args.name, Role(args.role), password)
    print(f"user {args.name} ({args.role}) saved")
    return 0


def _units_import(args: argparse.Namespace) -> int:
    from dispatchdesk.server.simulation.fleet import import_units

    report = import_units(_db_url(args), args.file)
    print(report.text(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def _bulk_import(args: argparse.Namespace) -> int:
    from dispatchdesk.server.imports import run_import

    return run_import(args.kind, _db_url(args), args.file)


def _simulate(args: argparse.Namespace) -> int:
    from dispatchdesk.server.simulation.simulator import Simulator

    password = read_password(f"Password for {args.user}: ")

    async def run() -> None:
        sim = Simulator(
            args.sim_server,
            args.user,
            password,
            rate_per_minute=args.sim_rate,
            seed=args.seed,
            speed=args.speed,
            units=args.units,
        )
        try:
            await sim.run(max_incidents=args.count, duration=args.duration)
        finally:
            await sim.aclose()
        print(f"simulated {sim.created} incidents, closed {sim.closed}")

    try:
        asyncio.run(run())
    except PermissionError as exc:
        print(f"dispatchdesk: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
