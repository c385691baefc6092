"""Passwords (scrypt with a salt) and opaque bearer tokens, stored hashed with an expiry.

Tokens live in the database, so a restarted server or a second node accepts them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dispatchdesk.domain.roles import Role
from dispatchdesk.server.db import tokens, users

_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(got.hex(), digest)


_DUMMY_HASH = hash_password(secrets.token_hex(8))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Account:
    """A sign-in as stored."""

    username: str
    role: Role
    password_hash: str
    disabled: bool


def find_account(conn: Connection, username: str) -> Account | None:
    row = conn.execute(
        sa.select(users.c.role, users.c.password_hash, users.c.disabled_at).where(
            users.c.username == username
        )
    ).first()
    if row is None:
        return None
    return Account(username, Role(row.role), row.password_hash, row.disabled_at is not None)


def check_password(account: Account | None, password: str) -> bool:
    """True when ``password`` (exactly as typed) is the account's. The same scrypt work is
    done for an unknown user. Slow on purpose (~35 ms): call it outside any transaction."""
    if account is None:
        verify_password(password, _DUMMY_HASH)
        return False
    return verify_password(password, account.password_hash)


def issue_token(conn: Connection, username: str, now: datetime, ttl: timedelta) -> str:
    """A new bearer token for ``username``, valid for ``ttl``; also purges expired tokens."""
    purge_expired(conn, now)
    token = secrets.token_urlsafe(32)
    conn.execute(
        tokens.insert().values(
            token_hash=token_hash(token), username=username, expires_at=now + ttl
        )
    )
    return token


def purge_expired(conn: Connection, now: datetime) -> int:
    """Delete every expired token; how many."""
    return conn.execute(tokens.delete().where(tokens.c.expires_at <= now)).rowcount or 0


def revoke_token(conn: Connection, token: str) -> bool:
    """Delete one token (sign out); whether it existed."""
    done = conn.execute(tokens.delete().where(tokens.c.token_hash == token_hash(token)))
    return bool(done.rowcount)


#: :func:`user_for_token`'s statement, built once (it runs for every request: building it and
#: its cache key each time cost more than running it on SQLite).
_USER_FOR_TOKEN = (
    sa.select(users.c.username, users.c.role)
    .select_from(tokens.join(users, tokens.c.username == users.c.username))
    .where(
        tokens.c.token_hash == sa.bindparam("token_hash"),
        tokens.c.expires_at > sa.bindparam("now", type_=tokens.c.expires_at.type),
        users.c.disabled_at.is_(None),
    )
)


def user_for_token(conn: Connection, token: str, now: datetime) -> User | None:
    """The user of a live token of an enabled sign-in, else ``None``."""
    row = conn.execute(_USER_FOR_TOKEN, {"token_hash": token_hash(token), "now": now}).first()
    return None if row is None else User(row.username, Role(row.role))
