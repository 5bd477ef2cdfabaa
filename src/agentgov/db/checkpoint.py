"""SQLite's WAL checkpoints, moved off the commits of the hot writer into a thread of their own.

In WAL mode a commit appends the pages it changed to the ``-wal`` file, and the commit that takes the
file past ``wal_autocheckpoint`` pages (1,000 by default) then copies them all back into the database
and syncs both files: a checkpoint, paid by whichever transaction crosses the line. A guarded tool call
writes about five pages (the decision's row and its two indexes, the ledger event; 21 KiB of WAL
measured), so one call in two hundred paid a checkpoint of a thousand pages: in a loop of decisions
in one process, about a sixth of each decision's CPU time (docs/guard.md, "Latency"). SQLite's
documentation on WAL describes the cure used here: the writer's own connection checkpoints only as a
backstop, far later, and a thread checkpoints in the background every so many commits. PASSIVE
checkpoints wait for no reader and no writer, and ``sqlite3`` lets other threads run while SQLite
works, so the writer goes on committing meanwhile.

A checkpoint that fails is logged and counted, and tried again at the next turn; the backstop bounds
the WAL whatever happens to the thread. The thread starts at the first turn and stops on :meth:`close`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass

from agentgov.errors import InvalidInput

__all__ = ["CheckpointSettings", "Checkpointer"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckpointSettings:
    """When the background thread checkpoints, and where the writer's own backstop lies.

    ``every_commits``: about 500 pages (2 MiB) between checkpoints at five pages a commit, few enough
    that a checkpoint stays short, many enough that its two syncs are rare. ``backstop_pages``: the
    writer's connection checkpoints by itself past this many (16 MiB), should the thread fall behind.
    """

    every_commits: int = 100
    backstop_pages: int = 4000
    join_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        for name in ("every_commits", "backstop_pages"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"{name} must be at least 1", field=name)


class Checkpointer:
    """Checkpoints one SQLite database in a background thread, every ``every_commits`` commits.

    ``connect`` opens a connection to the database (with the engine's pragmas); the thread keeps it
    between checkpoints and opens another after a failure. :meth:`committed` is the writer's call after
    each commit: a counter, and now and then an event set.
    """

    def __init__(
        self, connect: Callable[[], sqlite3.Connection], settings: CheckpointSettings | None = None
    ) -> None:
        self.settings = settings or CheckpointSettings()
        self._connect = connect
        self._commits = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the thread's start and stop
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # passes run, whether or not there was anything to copy
        self.failures = 0
        self.last: tuple[int, int, int] | None = None  # (busy, frames in the WAL, frames copied back)

    def committed(self) -> None:
        """One more commit on the database; every ``every_commits``, the thread is woken."""
        self._commits += 1
        if self._commits >= self.settings.every_commits:
            self._commits = 0
            if self._thread is None:
                self._start()
            self._wake.set()

    def close(self) -> None:
        """Stop the thread (after the checkpoint it may be running) and close its connection."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._wake.set()
        if thread is not None:
            thread.join(self.settings.join_timeout_s)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stop.is_set():
                    return
                try:
                    conn = conn or self._connect()
                    self._checkpoint(conn)
                except Exception as exc:  # noqa: BLE001 - the thread lives on; the backstop holds the WAL
                    self.failures += 1
                    _log.warning("WAL checkpoint failed (%s): tried again later", exc.__class__.__name__)
                    if conn is not None:
                        conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()  # never waits for a lock
        self.last = (int(row[0]), int(row[1]), int(row[2]))
        self.checkpoints += 1
