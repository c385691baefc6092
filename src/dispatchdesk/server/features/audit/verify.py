"""Checking the audit hash chain (``dispatchdesk audit verify --db URL``).

Each row carries ``hash = audit_hash(prev_hash, content)`` and ``prev_hash``, the hash of the
row before it; the ``audit_head`` row holds the last row's id and hash. Walking the rows in id
order finds the first place the chain breaks:

- a row whose content no longer gives its hash was **edited**;
- a row without a hash, or one the next row does not link to while linking past it, was
  **inserted** outside the server;
- a row that does not link to the row before it: rows between them were **deleted** (or the
  earlier row was edited and its hash recomputed);
- a head that does not name the last row: the newest rows were **deleted** (or rows were
  added after it).

The chain shows tampering by anyone who cannot also recompute every later hash; it is not a
signature (the database's owner could rewrite it all).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dispatchdesk.server.db import AUDIT_GENESIS, audit, audit_hash, audit_head, read_tx


@dataclass(frozen=True, slots=True)
class ChainReport:
    rows: int
    #: The id of the first row where the chain breaks (None when it holds, or when the
    #: newest rows were deleted: see ``problem``).
    row_id: int | None
    #: What is wrong there, a sentence; None when the chain holds.
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def text(self) -> str:
        if self.problem is None:
            return f"audit chain intact: {self.rows} rows"
        return f"audit chain broken: {self.problem}"


def verify_chain(engine: Engine) -> ChainReport:
    """The first break in the audit chain, or that it holds."""
    if not sa.inspect(engine).has_table(audit_head.name):
        return ChainReport(
            0,
            None,
            "this database has no audit chain yet: start this version's server on it once, "
            "which chains the rows it has",
        )
    with read_tx(engine) as conn:
        head = conn.execute(
            sa.select(audit_head.c.last_id, audit_head.c.hash).where(audit_head.c.id == 1)
        ).first()
        rows = conn.execute(sa.select(audit).order_by(audit.c.id)).all()
    prev_hash, prev_prev, prev_id = AUDIT_GENESIS, AUDIT_GENESIS, None
    for i, row in enumerate(rows):
        if row.hash is None or row.prev_hash is None:
            return ChainReport(i, row.id, f"row {row.id} was inserted: it has no hash")
        own = audit_hash(
            row.prev_hash, row.at, row.username, row.action, row.entity, row.entity_id, row.detail
        )
        if own != row.hash:
            return ChainReport(
                i, row.id, f"row {row.id} was edited: its content no longer matches its hash"
            )
        if row.prev_hash != prev_hash:
            if prev_id is not None and row.prev_hash == prev_prev:
                return ChainReport(
                    i, prev_id, f"row {prev_id} was inserted: the row after it skips it"
                )
            after = f"after row {prev_id}" if prev_id is not None else "at the start"
            edited = f" (or row {prev_id} was edited and its hash recomputed)" if prev_id else ""
            return ChainReport(i, row.id, f"rows were deleted {after}, before row {row.id}{edited}")
        prev_prev, prev_hash, prev_id = prev_hash, row.hash, row.id
    last_id, head_hash = (None, AUDIT_GENESIS) if head is None else (head.last_id, head.hash)
    if head_hash != prev_hash or last_id != prev_id:
        if last_id is not None and (prev_id is None or last_id > prev_id):
            return ChainReport(
                len(rows),
                None,
                f"the newest rows were deleted: the chain's head is row {last_id}, the last "
                f"row left is {prev_id}",
            )
        return ChainReport(
            len(rows),
            prev_id,
            f"row {prev_id} was inserted after the chain's head (row {last_id})",
        )
    return ChainReport(len(rows), None, None)
