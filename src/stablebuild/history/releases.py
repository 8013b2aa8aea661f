"""The release log: every promotion and rollback of a stack's channel, in order, kept in the
`releases` table of the history store (migration 3).

Added beside the run store rather than into its interface: only SQL stores hold it, and a store
that is not one says so with a HistoryError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from stablebuild.history.interface import HistoryError, HistoryStore
from stablebuild.history.sql import SqlStore

PROMOTE = "promote"
ROLLBACK = "rollback"


@dataclass(frozen=True)
class ReleaseEvent:
    """One promotion or rollback: the set of images the channel held after it."""

    stack: str
    channel: str
    action: str  # promote | rollback
    run_id: str  # the validate run whose images the channel now holds
    at: str  # ISO 8601, UTC, seconds
    who: str
    commit: str | None = None
    images: dict[str, str] = field(default_factory=dict)  # image name -> image id
    note: str = ""  # e.g. "pushed", "verified", "not verified (--no-verify)"
    position: int = 0  # order within the channel, from 1; set by the store

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "stack": self.stack,
            "channel": self.channel,
            "action": self.action,
            "run_id": self.run_id,
            "at": self.at,
            "who": self.who,
            "commit": self.commit,
            "images": dict(self.images),
            "note": self.note,
        }


def _sql(store: HistoryStore) -> SqlStore:
    if not isinstance(store, SqlStore):
        raise HistoryError(f"the history at {store.where} keeps no release log", "use SQLite")
    return store


_COLUMNS = "stack, channel, position, action, run_id, at, who, git_commit, images, note"


def record_release(store: HistoryStore, event: ReleaseEvent) -> ReleaseEvent:
    """Append `event` to its channel's log, in one transaction; it comes back numbered."""
    sql = _sql(store)
    m = sql.mark
    with sql._write() as cursor:
        cursor.execute(
            f"SELECT MAX(position) FROM releases WHERE stack = {m} AND channel = {m}",
            (event.stack, event.channel),
        )
        row = cursor.fetchone()
        position = (int(row[0]) if row and row[0] is not None else 0) + 1
        cursor.execute(
            f"INSERT INTO releases ({_COLUMNS}) VALUES ({', '.join([m] * 10)})",
            (
                event.stack,
                event.channel,
                position,
                event.action,
                event.run_id,
                sql._time_in(event.at),
                event.who,
                event.commit,
                json.dumps(event.images, sort_keys=True),
                event.note,
            ),
        )
    return ReleaseEvent(**{**event.__dict__, "position": position})


def release_log(store: HistoryStore, stack: str, channel: str | None = None) -> list[ReleaseEvent]:
    """The stack's events (of one channel, or all), oldest first."""
    sql = _sql(store)
    m = sql.mark
    where, params = f"stack = {m}", [stack]
    if channel is not None:
        where, params = f"{where} AND channel = {m}", [stack, channel]
    with sql._read() as cursor:
        cursor.execute(
            f"SELECT {_COLUMNS} FROM releases WHERE {where} ORDER BY at, channel, position",
            tuple(params),
        )
        rows = cursor.fetchall()
    return [
        ReleaseEvent(
            stack=row[0],
            channel=row[1],
            position=int(row[2]),
            action=row[3],
            run_id=row[4],
            at=sql._time_out(row[5]) or "",
            who=row[6],
            commit=row[7],
            images=json.loads(row[8]),
            note=row[9],
        )
        for row in rows
    ]


__all__ = ["PROMOTE", "ROLLBACK", "ReleaseEvent", "record_release", "release_log"]
