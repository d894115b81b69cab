"""Removes the containers that killed test runs left, where testcontainers' Ryuk does not.

Ryuk removes a run's containers when the run dies, but it is a container itself, from an image
that many networks cannot pull (and Podman often cannot run): there it is turned off
(TESTCONTAINERS_RYUK_DISABLED=true), and a run killed with SIGKILL leaves its container
running. So each run holds a lock file of its own while it lives and labels its container with
that file and this machine's name; before starting one, a run removes the containers of this
machine whose lock file no run holds (as janitor.py does for databases).
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from filelock import FileLock

if TYPE_CHECKING:
    from docker import DockerClient

LOCKS = platformdirs.user_cache_path("pytest-postgres") / "container-runs"
LOCK_LABEL = "pytest-postgres.run-lock"
HOST_LABEL = "pytest-postgres.host"


class ContainerRun:
    """This run, alive while it holds its lock file: from its creation until end()."""

    def __init__(self) -> None:
        LOCKS.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.lock_file = LOCKS / f"{os.getpid()}-{secrets.token_hex(4)}.lock"
        self._lock = FileLock(self.lock_file)
        self._lock.acquire()

    def labels(self) -> dict[str, str]:
        return {LOCK_LABEL: str(self.lock_file), HOST_LABEL: socket.gethostname()}

    def end(self) -> None:
        self._lock.release()
        self.lock_file.unlink(missing_ok=True)


def remove_dead_runs_containers(client: DockerClient) -> list[str]:
    """Remove, with their volumes, the containers of this machine's runs that no longer live;
    return their names."""
    from docker.errors import APIError

    labelled = client.containers.list(
        all=True, filters={"label": [LOCK_LABEL, f"{HOST_LABEL}={socket.gethostname()}"]}
    )
    removed = []
    for container in labelled:
        lock_file = Path(container.labels[LOCK_LABEL])
        if held(lock_file):
            continue
        try:
            container.remove(force=True, v=True)
        except APIError as exc:
            if exc.status_code in (404, 409):
                continue  # another run removed it first, or is removing it
            raise
        lock_file.unlink(missing_ok=True)
        removed.append(container.name)
    return removed


def held(lock_file: Path) -> bool:
    """Whether a live run holds `lock_file`: a killed run's lock went with its process."""
    lock = FileLock(lock_file, timeout=0)
    try:
        lock_file.stat()  # acquire() would create a missing file
        lock.acquire()
    except FileNotFoundError:
        return False
    except OSError:  # Timeout: a live run holds it; or another user's file, not ours to judge
        return True
    lock.release()
    return False
