"""Signing in and out, pure of HTTP: the throttle, the password check outside any write
transaction, and the audit of every sign-in, success and failure.

The password hash (scrypt, ~35 ms) runs with no transaction open, so a flood of sign-ins
never holds the database's write lock; only the short token insert and audit row write.

The throttle counts failed sign-ins per user name and per client address in a sliding window
(:class:`~dispatchdesk.server.settings.ServerSettings` ``sign_in_*``). An attempt counts as a
failure from the moment it starts (so a burst of concurrent guesses is bounded too) until it
succeeds. At the limit, sign-ins for that name or from that address are refused with 429 and
``Retry-After`` until the oldest failure leaves the window: never for good. The failures are
kept in the database (``sign_in_failures``), so every worker process and every node counts the
same ones, and a restart forgets none: guesses spread over the nodes of a deployment, or sent
across a restart, get no more tries than guesses sent to one. Attempts on a name or an address
are counted one at a time (the write lock on SQLite, an advisory lock per key on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dispatchdesk.server import auth
from dispatchdesk.server.db import audit_row, read_tx, sign_in_failures, write_tx
from dispatchdesk.server.errors import Forbidden, TooManyAttempts, Unauthorized
from dispatchdesk.server.runner import CommandRunner

#: The advisory lock class of the throttle's keys on PostgreSQL (its two-integer key space).
_LOCK_CLASS = 0x5349  # "SI"


class Throttle:
    """Failures of one kind of key (user name, client address) in a sliding window, in the
    database: read and written in the caller's write transaction."""

    def __init__(self, kind: str, limit: int, window: timedelta) -> None:
        self.kind = kind
        self.limit = limit
        self.window = window

    def key(self, value: str) -> str:
        return hashlib.sha256(f"{self.kind}:{value}".encode()).hexdigest()

    @staticmethod
    def lock(conn: Connection, key: str) -> None:
        """Count the attempts on ``key`` one at a time until the transaction ends (PostgreSQL;
        on SQLite the write transaction holds the whole database)."""
        if conn.dialect.name == "postgresql":
            objid = int.from_bytes(bytes.fromhex(key[:8]), "big", signed=True)
            conn.execute(_ADVISORY_LOCK, {"class": _LOCK_CLASS, "objid": objid})

    def wait(self, conn: Connection, key: str, now: datetime) -> int | None:
        """Seconds until ``key`` may try again, or None when it may now."""
        oldest = (
            conn.execute(
                sa.select(sign_in_failures.c.at)
                .where(sign_in_failures.c.key == key, sign_in_failures.c.at > now - self.window)
                .order_by(sign_in_failures.c.at)
                .limit(self.limit)
            )
            .scalars()
            .all()
        )
        if len(oldest) < self.limit:
            return None
        first: datetime = oldest[0]
        return max(1, math.ceil((first + self.window - now).total_seconds()))

    def fail(self, conn: Connection, key: str, now: datetime) -> tuple[int, bool]:
        """Count one failure: its row's id, and whether it reached the limit."""
        row_id = conn.execute(
            sign_in_failures.insert().values(key=key, at=now).returning(sign_in_failures.c.id)
        ).scalar_one()
        counted = conn.execute(
            sa.select(sa.func.count())
            .select_from(sign_in_failures)
            .where(sign_in_failures.c.key == key, sign_in_failures.c.at > now - self.window)
        ).scalar_one()
        return int(row_id), counted >= self.limit


_ADVISORY_LOCK = sa.text("SELECT pg_advisory_xact_lock(CAST(:class AS integer), :objid)")


class SignIn:
    """Sign-in and sign-out over one :class:`CommandRunner`."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner
        s = runner.settings
        self.by_user = Throttle("user", s.sign_in_failures_per_user, s.sign_in_window)
        self.by_address = Throttle("address", s.sign_in_failures_per_address, s.sign_in_window)

    def sign_in(self, username: str, password: str, address: str) -> tuple[str, auth.User]:
        """A new token for good credentials; 401 for bad ones, 403 for a disabled sign-in,
        429 while throttled. Every outcome but the 429 is audited."""
        now = self.runner.now()
        user_key = self.by_user.key(username.casefold())
        address_key = self.by_address.key(address)
        address_failure, tripped = self._count_attempt(user_key, address_key, now)
        with read_tx(self.runner.engine) as conn:
            account = auth.find_account(conn, username)
        good = auth.check_password(account, password)  # no transaction open
        if good and account is not None and not account.disabled:
            with write_tx(self.runner.engine) as conn:
                token = auth.issue_token(conn, username, now, self.runner.settings.token_ttl)
                audit_row(conn, now, username, "sign_in", "session", None, f"from {address}")
                # the name's failures are forgiven; the address keeps its others
                conn.execute(sign_in_failures.delete().where(sign_in_failures.c.key == user_key))
                conn.execute(
                    sign_in_failures.delete().where(sign_in_failures.c.id == address_failure)
                )
            return token, auth.User(username, account.role)
        if good and account is not None:
            why = "the sign-in is disabled"
        else:
            why = "wrong password" if account is not None else "unknown user name"
        if tripped:
            why += f"; further sign-ins refused for up to {_span(self._window_seconds())}"
        with write_tx(self.runner.engine) as conn:
            audit_row(
                conn,
                now,
                username[:100],
                "sign_in_failed",
                "session",
                None,
                f"from {address}: {why}",
            )
        if good:
            raise Forbidden("This sign-in is disabled. Ask a supervisor to enable it.")
        raise Unauthorized("Wrong username or password.")

    def _count_attempt(self, user_key: str, address_key: str, now: datetime) -> tuple[int, bool]:
        """Count the attempt as a failure (until it succeeds, so concurrent guesses are
        bounded too): the id of its address failure, and whether it reached a limit; 429 while
        the name or the address is throttled (nothing counted)."""
        with write_tx(self.runner.engine) as conn:
            for key in (user_key, address_key):  # always in this order: no deadlock
                Throttle.lock(conn, key)
            window = max(self.by_user.window, self.by_address.window)
            conn.execute(sign_in_failures.delete().where(sign_in_failures.c.at <= now - window))
            wait = max(
                self.by_user.wait(conn, user_key, now) or 0,
                self.by_address.wait(conn, address_key, now) or 0,
            )
            if not wait:
                _id, user_tripped = self.by_user.fail(conn, user_key, now)
                address_failure, address_tripped = self.by_address.fail(conn, address_key, now)
                return address_failure, user_tripped or address_tripped
        raise TooManyAttempts(
            f"Too many failed sign-ins for this name or from this computer. Try again in "
            f"{_span(wait)}, or ask a supervisor to check the password.",
            wait,
        )

    def sign_out(self, user: auth.User, token: str) -> None:
        """Revoke ``token`` (and purge expired ones); audited."""
        now = self.runner.now()
        with write_tx(self.runner.engine) as conn:
            auth.revoke_token(conn, token)
            auth.purge_expired(conn, now)
            audit_row(conn, now, user.username, "sign_out", "session", None, "token revoked")

    def _window_seconds(self) -> int:
        return math.ceil(self.runner.settings.sign_in_window.total_seconds())


def _span(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
