"""User administration, for ``dispatchdesk users add|list|disable|enable [--db URL]``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from dispatchdesk.domain.roles import Role
from dispatchdesk.server.auth import hash_password
from dispatchdesk.server.db import (
    audit_row,
    create_schema,
    make_engine,
    read_tx,
    tokens,
    users,
    write_tx,
)


def add_user(db_url: str, username: str, role: Role, password: str) -> None:
    """Create a user, or replace an existing user's role and password.

    Replacing a user also revokes the tokens issued to them.
    """
    username = username.strip()
    if not username:
        raise ValueError("a username cannot be blank")
    if not password:
        raise ValueError("a password cannot be blank")
    role = Role(role)
    engine = make_engine(db_url)
    try:
        create_schema(engine)
        pw = hash_password(password)
        with write_tx(engine) as conn:
            exists = conn.execute(
                sa.select(users.c.username).where(users.c.username == username)
            ).first()
            if exists is None:
                conn.execute(
                    users.insert().values(username=username, role=role.value, password_hash=pw)
                )
            else:
                conn.execute(
                    users.update()
                    .where(users.c.username == username)
                    .values(role=role.value, password_hash=pw)
                )
                conn.execute(tokens.delete().where(tokens.c.username == username))
    finally:
        engine.dispose()


@dataclass(frozen=True, slots=True)
class UserInfo:
    username: str
    role: Role
    disabled: bool
    #: Tokens not yet expired (sessions signed in).
    live_tokens: int


def list_users(db_url: str, now: datetime | None = None) -> list[UserInfo]:
    """Every sign-in, by name, with its role, whether it is disabled and its live tokens."""
    now = now or datetime.now(UTC)
    engine = make_engine(db_url)
    try:
        create_schema(engine)
        live = (
            sa.select(tokens.c.username, sa.func.count().label("n"))
            .where(tokens.c.expires_at > now)
            .group_by(tokens.c.username)
            .subquery()
        )
        with read_tx(engine) as conn:
            rows = conn.execute(
                sa.select(users.c.username, users.c.role, users.c.disabled_at, live.c.n)
                .select_from(users.outerjoin(live, live.c.username == users.c.username))
                .order_by(users.c.username)
            ).all()
    finally:
        engine.dispose()
    return [
        UserInfo(r.username, Role(r.role), r.disabled_at is not None, int(r.n or 0)) for r in rows
    ]


def set_disabled(db_url: str, username: str, disabled: bool, now: datetime | None = None) -> None:
    """Disable a sign-in (it cannot sign in, and its tokens stop working at once: they are
    deleted) or enable it again. Audited. ``LookupError`` when there is no such user."""
    now = now or datetime.now(UTC)
    engine = make_engine(db_url)
    try:
        create_schema(engine)
        with write_tx(engine) as conn:
            done = conn.execute(
                users.update()
                .where(users.c.username == username)
                .values(disabled_at=now if disabled else None)
            )
            if not done.rowcount:
                raise LookupError(f"there is no user {username!r}")
            if disabled:
                conn.execute(tokens.delete().where(tokens.c.username == username))
            action, done_text = (
                ("disable_user", "disabled") if disabled else ("enable_user", "enabled")
            )
            audit_row(conn, now, "admin", action, "user", None, f"sign-in {username} {done_text}")
    finally:
        engine.dispose()
