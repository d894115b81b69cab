"""Starts the run's PostgreSQL server and this process's database from the moment pytest starts
(background_start.py), and provides the fixtures that wait for them:

    postgres_server_url    session   the server (see server_choice.py)
    worker_database_url    session   this process's database, cloned from the migrated template
    run_id                 session   this run, announced on the server while it lives

Its first hook runs before the conftests are imported (a plugin loads before them). What a
process does depends on its mode (Mode). A container (TEST_POSTGRES=docker) takes seconds to
start and to stop: it is started when a test first needs it, so that a run without database
tests does not wait for one.
"""

import os
import uuid
from collections.abc import Iterator
from enum import Enum
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import URL, make_url

from .background_start import BackgroundStart
from .config import Project
from .server_choice import ServerChoice
from .servers import ServerUnavailable

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController

WORKER_INPUT_KEY = "postgres_server_url"
# Ways that take seconds to start and stop: started when a test first needs a server.
STARTED_ON_DEMAND = {"docker"}


class Mode(Enum):
    """What this process does in the run."""

    SERIAL = "pytest without xdist: starts the server and makes its database"
    CONTROLLER = "pytest-xdist's controller: starts the server and hands it to the workers"
    WORKER = "a pytest-xdist worker: makes its database on the controller's server"


def mode_of(config: pytest.Config) -> Mode:
    if hasattr(config, "workerinput"):
        return Mode.WORKER
    # The options parsed so far say (`-n 2`, `-n auto`): the hooks here run before pytest
    # parses all of them.
    if getattr(config.known_args_namespace, "numprocesses", None):
        return Mode.CONTROLLER
    return Mode.SERIAL


start_key = pytest.StashKey[BackgroundStart]()
choice_key = pytest.StashKey[ServerChoice]()
project_key = pytest.StashKey[Project]()


def project_of(config: pytest.Config) -> Project:
    """The project under test, as its settings describe it (config.py)."""
    if project_key not in config.stash:
        config.stash[project_key] = Project.from_pytest(config)
    return config.stash[project_key]


def server_choice(config: pytest.Config) -> ServerChoice:
    if choice_key not in config.stash:
        config.stash[choice_key] = ServerChoice(project_of(config))
    return config.stash[choice_key]


def start_for(config: pytest.Config) -> BackgroundStart:
    """This process's start, begun now unless it was already."""
    if start_key in config.stash:
        return config.stash[start_key]
    mode = mode_of(config)
    if mode is Mode.WORKER:
        workerinput = config.workerinput  # type: ignore[attr-defined]
        url = make_url(workerinput[WORKER_INPUT_KEY])
        begun = BackgroundStart(
            project_of(config),
            lambda: url,
            lambda: None,
            workerinput["testrunuid"],
            workerinput["workerid"],
        )
    else:
        choice = server_choice(config)
        database_role = "main" if mode is Mode.SERIAL else None
        begun = BackgroundStart(
            project_of(config), choice.start, choice.stop, uuid.uuid4().hex, database_role
        )
    config.stash[start_key] = begun
    config.add_cleanup(begun.close)
    return begun


def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Begin before pytest imports the conftests, unless the run only shows help, the version
    or the collected tests, or its first way is a container. (An xdist worker learns the
    server's URL later: it begins in pytest_configure.)"""
    options = early_config.known_args_namespace
    if options.help or options.version or options.collectonly:
        return
    if "PYTEST_XDIST_WORKER" in os.environ:
        return
    candidates = server_choice(early_config).candidates
    if not candidates or candidates[0].name not in STARTED_ON_DEMAND:
        start_for(early_config)


def pytest_configure(config: pytest.Config) -> None:
    """A worker begins making its database; a server that TEST_DATABASE_URL names but that does
    not answer, or a run under pytest-xdist without any server, stops the run before collection."""
    mode = mode_of(config)
    if mode is Mode.WORKER:
        start_for(config)
        return
    choice = server_choice(config)
    if choice.configured is not None:
        try:
            choice.configured.check_reachable()
        except ServerUnavailable as exc:
            raise pytest.UsageError(str(exc)) from None
    if mode is Mode.CONTROLLER:
        start_for(config).server_url()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: "WorkerController") -> None:
    url = start_for(node.config).server_url()
    node.workerinput[WORKER_INPUT_KEY] = url.render_as_string(hide_password=False)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if mode_of(config) is Mode.WORKER:
        return []
    return server_choice(config).header(verbose=config.get_verbosity() > 0)


@pytest.fixture(scope="session")
def postgres_server_url(pytestconfig: pytest.Config) -> URL:
    try:
        return start_for(pytestconfig).server_url()
    except pytest.UsageError as exc:
        # One message for the whole run, rather than one error per test.
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def worker_database_url(postgres_server_url: URL, pytestconfig: pytest.Config) -> Iterator[URL]:
    """This process's own database: a clone of the migrated template, dropped at the end."""
    begun = start_for(pytestconfig)
    yield begun.database_url()
    begun.drop_database()


@pytest.fixture(scope="session")
def run_id(worker_database_url: URL, pytestconfig: pytest.Config) -> str:
    """This run's id, shared by its xdist workers. The run holds its lock on the server
    (janitor.py's announce_run) from before its first database until its end."""
    return start_for(pytestconfig).run_id
