"""Replace the analytics database atomically: all of a load, or none of it.

A load never writes to the live database file. It builds the new database in a
temporary file in the same directory (so `os.replace` is a same-filesystem
rename), validates and loads there, checkpoints and closes DuckDB (so the file is
complete without a write-ahead log), `fsync`s the file, renames it over the target
and `fsync`s the directory. POSIX `rename(2)` is atomic: a reader, or a machine
that loses power, sees either the old file or the new one. If the process fails or
is killed at any point before the rename, the target has not been touched; the
abandoned temporary file is deleted by the next load.

An advisory lock file (`<db>.lock`, `flock(2)`) stops two loads of the same
database racing; the kernel drops it when the process dies, so a killed load never
leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from pathlib import Path
from types import TracebackType
from typing import IO

import duckdb

from carepilot.errors import ConfigError

logger = logging.getLogger(__name__)

TEMP_MARKER = ".loading-"


def temp_prefix(target: Path) -> str:
    """File-name prefix of the temporary databases built for `target`."""
    return f".{target.name}{TEMP_MARKER}"


class AtomicDatabaseFile:
    """Context manager giving a temporary database path that `commit()` swaps in.

    Usage::

        with AtomicDatabaseFile(target, copy_existing=True) as work:
            conn = duckdb.connect(str(work.path))
            ...  # load and validate; raise to abandon
            conn.close()
            work.commit()

    Leaving the block without `commit()` (an exception, a failed validation)
    deletes the temporary file and leaves `target` exactly as it was.
    """

    def __init__(self, target: Path, *, copy_existing: bool) -> None:
        self.target = target
        self.copy_existing = copy_existing
        self.path = target.with_name(f"{temp_prefix(target)}{os.getpid()}.duckdb")
        self._lock_file: IO[bytes] | None = None
        self._committed = False

    def __enter__(self) -> AtomicDatabaseFile:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            self._remove_stale_temporaries()
            self._checkpoint_stale_wal()
            if self.copy_existing and self.target.exists():
                shutil.copyfile(self.target, self.path)
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._cleanup()

    def commit(self) -> None:
        """Make the temporary database the target: fsync, rename, fsync the directory.

        The DuckDB connection on `path` must be closed first, so that everything
        is checkpointed into the file and no `.wal` is left beside it.
        """
        wal = Path(str(self.path) + ".wal")
        if wal.exists():
            raise RuntimeError(f"{wal} exists: close the connection before commit()")
        _fsync_file(self.path)
        os.replace(self.path, self.target)
        _fsync_directory(self.target.parent)
        self._committed = True
        logger.info("replaced %s atomically", self.target)

    def _acquire_lock(self) -> None:
        lock_path = self.target.with_name(self.target.name + ".lock")
        lock_file = lock_path.open("ab")
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            raise ConfigError(
                f"another load into {self.target} is running (lock {lock_path} is "
                "held); wait for it to finish and try again."
            ) from None
        self._lock_file = lock_file

    def _remove_stale_temporaries(self) -> None:
        # We hold the lock, so any temporary left beside the target belongs to a
        # load that died (killed, power loss) and will never be committed.
        for stale in self.target.parent.glob(temp_prefix(self.target) + "*"):
            logger.info("removing abandoned temporary database %s", stale)
            stale.unlink(missing_ok=True)

    def _checkpoint_stale_wal(self) -> None:
        # A `.wal` beside the target holds committed changes of a writer that did
        # not close cleanly. Copying the file without it would lose them, and a
        # stale WAL beside a *new* file would be replayed onto it, so fold it in
        # first. Opening fails if another process has the database open to write.
        wal = Path(str(self.target) + ".wal")
        if not wal.exists():
            return
        try:
            conn = duckdb.connect(str(self.target))
        except duckdb.IOException as exc:
            raise ConfigError(
                f"{self.target} is open for writing by another process; close it "
                "(stop the web app or indicator run) and load again."
            ) from exc
        conn.execute("CHECKPOINT")
        conn.close()

    def _cleanup(self) -> None:
        if not self._committed:
            for leftover in (self.path, Path(str(self.path) + ".wal")):
                leftover.unlink(missing_ok=True)
        if self._lock_file is not None:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
