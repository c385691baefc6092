"""Signing in and out, pure of HTTP: the throttle, the password check outside any write
transaction, and the audit of every sign-in, success and failure.

The password hash (scrypt, ~35 ms) runs with no transaction open, so a flood of sign-ins
never holds the database's write lock; only the short token insert and audit row write.

The throttle counts failed sign-ins per user name and per client address in a sliding window
(:class:`~dispatchdesk.server.settings.ServerSettings` ``sign_in_*``). An attempt counts as a
failure from the moment it starts (so a burst of concurrent guesses is bounded too) until it
succeeds. At the limit, sign-ins for that name or from that address are refused with 429 and
``Retry-After`` until the oldest failure leaves the window: never for good. The count is per
server process (each node of a multi-node deployment throttles on its own).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import datetime, timedelta

from dispatchdesk.server import auth
from dispatchdesk.server.db import audit_row, read_tx, write_tx
from dispatchdesk.server.errors import Forbidden, TooManyAttempts, Unauthorized
from dispatchdesk.server.runner import CommandRunner

#: Above this many tracked keys, keys with no failure left in the window are dropped.
_SWEEP_AT = 10_000


class Throttle:
    """Failures per key in a sliding window, thread-safe."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: datetime) -> deque[datetime]:
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def wait(self, key: str, now: datetime) -> int | None:
        """Seconds until ``key`` may try again, or None when it may now."""
        with self._lock:
            times = self._live(key, now)
            if len(times) < self.limit:
                return None
            left = (times[0] + self.window - now).total_seconds()
            return max(1, math.ceil(left))

    def fail(self, key: str, now: datetime) -> bool:
        """Count one failure; True when it reached the limit."""
        with self._lock:
            if len(self._seen) > _SWEEP_AT:
                for k in [k for k in self._seen if not self._live(k, now)]:
                    del self._seen[k]
            times = self._live(key, now)
            times.append(now)
            return len(times) >= self.limit

    def forgive(self, key: str, *, all_of_it: bool) -> None:
        """Take back one counted failure (or all of them)."""
        with self._lock:
            times = self._seen.get(key)
            if times:
                if all_of_it:
                    times.clear()
                else:
                    times.pop()


class SignIn:
    """Sign-in and sign-out over one :class:`CommandRunner`."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner
        s = runner.settings
        self.by_user = Throttle(s.sign_in_failures_per_user, s.sign_in_window)
        self.by_address = Throttle(s.sign_in_failures_per_address, s.sign_in_window)

    def sign_in(self, username: str, password: str, address: str) -> tuple[str, auth.User]:
        """A new token for good credentials; 401 for bad ones, 403 for a disabled sign-in,
        429 while throttled. Every outcome but the 429 is audited."""
        now = self.runner.now()
        user_key, address_key = username.casefold(), address
        wait = max(
            self.by_user.wait(user_key, now) or 0, self.by_address.wait(address_key, now) or 0
        )
        if wait:
            raise TooManyAttempts(
                f"Too many failed sign-ins for this name or from this computer. Try again in "
                f"{_span(wait)}, or ask a supervisor to check the password.",
                wait,
            )
        # Counted as failures until they succeed, so concurrent guesses are bounded too.
        tripped = self.by_user.fail(user_key, now) | self.by_address.fail(address_key, now)
        with read_tx(self.runner.engine) as conn:
            account = auth.find_account(conn, username)
        good = auth.check_password(account, password)  # no transaction open
        if good and account is not None and not account.disabled:
            with write_tx(self.runner.engine) as conn:
                token = auth.issue_token(conn, username, now, self.runner.settings.token_ttl)
                audit_row(conn, now, username, "sign_in", "session", None, f"from {address}")
            self.by_user.forgive(user_key, all_of_it=True)
            self.by_address.forgive(address_key, all_of_it=False)
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
