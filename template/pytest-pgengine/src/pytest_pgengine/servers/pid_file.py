"""Where a running server listens, as the pid file in its data folder says.

PostgreSQL writes `postmaster.pid` when it starts, one field per line in the order of its
`pidfile.h`, updates the status as it goes, and removes the file when it stops.
"""

import socket
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Self

from sqlalchemy import URL

SUPERUSER = "postgres"


@dataclass(frozen=True)
class Address:
    """A Unix socket folder and port, or a TCP host and port (on Windows)."""

    host: str
    port: int

    def url(self, database: str) -> URL:
        url = URL.create("postgresql+asyncpg", username=SUPERUSER, database=database)
        if self.host.startswith("/"):
            return url.update_query_dict({"host": self.host, "port": str(self.port)})
        return url.set(host=self.host, port=self.port)

    def answers(self) -> bool:
        """Whether a server accepts connections here (a connect, without logging in)."""
        address: str | tuple[str, int]
        if self.host.startswith("/"):
            sock, address = socket.socket(socket.AF_UNIX), f"{self.host}/.s.PGSQL.{self.port}"
        else:
            sock, address = socket.socket(), (self.host, self.port)
        with sock:
            sock.settimeout(2)
            try:
                sock.connect(address)
            except OSError:
                return False
            return True


@dataclass(frozen=True)
class PidFile:
    """The fields of `postmaster.pid`; those the server has not written yet are ""."""

    pid: str
    data_directory: str
    start_time: str
    port: str
    socket_directory: str
    listen_address: str
    shared_memory_key: str
    status: str  # "starting", "ready", "stopping", ...

    @classmethod
    def read(cls, path: Path) -> Self | None:
        """The fields of the pid file at `path`; None if there is none."""
        try:
            lines = path.read_text().splitlines()
        except FileNotFoundError:
            return None
        values = [line.strip() for line in lines][: len(fields(cls))]
        return cls(*values, *[""] * (len(fields(cls)) - len(values)))

    def ready_address(self) -> Address | None:
        """Where the server listens, once it says it is ready for connections."""
        if self.status != "ready":
            return None
        return Address(self.socket_directory or self.listen_address, int(self.port))
