"""User administration, for ``dispatchdesk users add NAME --role ROLE [--db URL]``."""

from __future__ import annotations

import sqlalchemy as sa

from dispatchdesk.domain.roles import Role
from dispatchdesk.server.auth import hash_password
from dispatchdesk.server.db import create_schema, make_engine, tokens, users, write_tx


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
