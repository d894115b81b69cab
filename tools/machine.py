"""The meta suite's view of this machine, beyond rendering and running projects
(tools/projects.py): waiting, Docker, another user, the servers' processes."""

import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_pgengine.servers.container_runs import LOCK_LABEL
from pytest_pgengine.servers.local import server_home

from tools.projects import NO_DOCKER, REPO_ROOT, UNPRIVILEGED_CACHE, run, zero_setup_env


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return run(["docker", "info"], REPO_ROOT, timeout=30, check=False).returncode == 0


def container_env(**overrides: str) -> dict[str, str]:
    """The environment of a user who asks for a container (TEST_POSTGRES=docker), on this
    machine's Docker engine; Ryuk as the meta suite's environment says (.ci/run turns it off)."""
    env = zero_setup_env(TEST_POSTGRES="docker", **overrides)
    env.pop("DOCKER_HOST")
    if "DOCKER_HOST" in os.environ:
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    return env


def labelled_containers() -> set[str]:
    """The containers that generated projects' test runs started, by the label each gets."""
    listed = run(["docker", "ps", "--all", "--quiet", "--filter", f"label={LOCK_LABEL}"], REPO_ROOT)
    return set(listed.output.split())


def docker_volumes() -> set[str]:
    return set(run(["docker", "volume", "ls", "--quiet"], REPO_ROOT).output.split())


# initdb refuses to run as root: a throwaway local server needs a user of its own.
UNPRIVILEGED_USER = "template-tests"


def unprivileged_user() -> str:
    """A user other than root, who may run initdb (created if missing; needs root)."""
    if run(["id", UNPRIVILEGED_USER], REPO_ROOT, check=False).returncode != 0:
        run(["useradd", "--system", "--no-create-home", UNPRIVILEGED_USER], REPO_ROOT)
    return UNPRIVILEGED_USER


def as_user(user: str, command: list[str]) -> list[str]:
    """`command`, run as `user`, with a minimal environment (see unprivileged_env)."""
    runuser = shutil.which("runuser")
    assert runuser is not None, "runuser (util-linux) is needed to run as another user"
    return [runuser, "-u", user, "--", *command]


def unprivileged_env(**overrides: str) -> dict[str, str]:
    """An environment for another user: no TEST_DATABASE_URL, nothing of root's.

    Its cache (where the embedded server keeps its data) is under UNPRIVILEGED_CACHE.
    """
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": tempfile.gettempdir(),
        "XDG_CACHE_HOME": str(UNPRIVILEGED_CACHE),
        "DOCKER_HOST": NO_DOCKER,
        **overrides,
    }


def server_processes(project: Path, wait: float = 10) -> list[str]:
    """The live servers of `project` (found by their data folder) after up to `wait` seconds:
    a server's last processes exit a moment after `pg_ctl stop` returns. Zombies are left out:
    dead, they only wait for a parent (in a container without an init, nobody reaps them)."""
    home_name = server_home("", project).name
    deadline = time.monotonic() + wait
    while True:
        found = run(["ps", "-eo", "stat=,args="], REPO_ROOT)
        alive = [
            line
            for line in found.output.splitlines()
            if home_name in line and not line.lstrip().startswith("Z")
        ]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@contextmanager
def readable_by_others(project: Path) -> Iterator[None]:
    """Let other users read `project` and run its interpreter, until the block ends.

    Grants read on the project, and traverse (o+x) on the directories above it and above its
    interpreter that lack it (on some machines the interpreter lives in /root); the modes of
    those directories are restored afterwards.
    """
    for path in [project, *project.rglob("*")]:
        readable = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
        path.chmod(path.stat().st_mode | readable)
    interpreter = (project / ".venv" / "bin" / "python").resolve()
    changed = []
    for directory in dict.fromkeys([*project.parents, *interpreter.parents]):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)
            changed.append((directory, mode))
    try:
        yield
    finally:
        for directory, mode in changed:
            directory.chmod(mode)


def modes_above(*paths: Path) -> dict[Path, int]:
    """The permission bits of every folder above `paths`: a run must not change them."""
    folders = {folder for path in paths for folder in path.resolve().parents}
    return {folder: stat.S_IMODE(folder.stat().st_mode) for folder in folders}
