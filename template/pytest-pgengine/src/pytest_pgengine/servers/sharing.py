"""Sharing one local server between the runs that use it at once (two terminals, say).

Each run holds a lock file of its own, its run lock, while it uses the server; the run that
leaves and finds no other run lock held stops the server. A run killed with SIGKILL loses its
lock with its process: the server stays up, and the next run uses it and stops it at its end.
Starting and stopping happen under one more lock, so that no run joins a server that is stopping.
"""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout


class Runs:
    """The runs using the server whose home is `home`, this one among them once it joins."""

    def __init__(self, home: Path) -> None:
        self.folder = home / "runs"
        self._start_stop = FileLock(home / "start.lock")
        self._run_lock = FileLock(self.folder / f"{os.getpid()}-{secrets.token_hex(4)}.lock")

    @contextmanager
    def one_at_a_time(self) -> Iterator[None]:
        """Around starting or stopping the server: one run at a time does either."""
        with self._start_stop:
            yield

    def join(self) -> None:
        self._run_lock.acquire()

    def leave(self) -> None:
        self._run_lock.release()
        Path(self._run_lock.lock_file).unlink(missing_ok=True)

    def others_alive(self) -> bool:
        """Whether another run holds its run lock. The lock files no run holds (their runs were
        killed) are deleted on the way."""
        for path in self.folder.glob("*.lock"):
            lock = FileLock(path, timeout=0)
            try:
                lock.acquire()
            except Timeout:
                return True
            lock.release()
            path.unlink(missing_ok=True)
        return False
