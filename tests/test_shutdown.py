"""Graceful shutdown: the server the Dockerfile starts, sent SIGTERM with a request in flight,
stops accepting connections (so a readiness probe fails: not ready), answers that request,
closes the database pool and exits within the grace period its command line gives it; compose
waits longer than that before it kills. The steps before SIGTERM on Kubernetes (out of the
Service, the preStop sleep) are tests/test_rolling_restart.py's."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tools.projects import REPO_ROOT, database_url, project_env, query, render, run, sync, uv_run
from tools.serving import Client, answers, free_port

DATABASE = "meta_shutdown_dev"
# Test-only, written into the rendered project beside its package: the service as
# create_app() builds it, plus GET /slow, a request that holds a pooled connection and stays in
# flight until the test creates the release file; and a line in the log for each pooled
# connection closed.
PROBE_MODULE = "shutdown_probe"
PROBE = """\
import asyncio
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.pool import Pool

from {package}.database import SessionDep
from {package}.main import create_app as create_service

RELEASE = Path(os.environ["SLOW_REQUEST_RELEASE"])


@event.listens_for(Pool, "close")
def log_close(dbapi_connection: Any, record: Any) -> None:
    print("test-only: a pooled connection closed", flush=True)


def create_app() -> FastAPI:
    app = create_service()

    @app.get("/slow")
    async def slow(session: SessionDep) -> dict[str, str]:
        await session.execute(text("SELECT 1"))
        print("test-only: slow request in flight", flush=True)
        while not RELEASE.exists():
            await asyncio.sleep(0.05)
        await session.execute(text("SELECT 1"))
        return {"status": "done"}

    return app
"""
IN_FLIGHT = "test-only: slow request in flight"
POOL_CLOSED = "test-only: a pooled connection closed"


def dockerfile_command(project: Path) -> list[str]:
    """The Dockerfile's CMD (the last one), which must be in exec form: a JSON array."""
    lines = [
        line for line in (project / "Dockerfile").read_text().splitlines() if line.startswith("CMD")
    ]
    assert lines, "the Dockerfile has no CMD"
    try:
        command = json.loads(lines[-1].removeprefix("CMD"))
    except json.JSONDecodeError:
        command = None
    # In shell form, /bin/sh -c would be PID 1 and uvicorn would never see docker stop's SIGTERM.
    assert isinstance(command, list), f"CMD is not in exec form: {lines[-1]}"
    assert all(isinstance(argument, str) for argument in command), lines[-1]
    return command


def option(command: list[str], name: str) -> str:
    assert name in command, f"{name} is not in {command}"
    return command[command.index(name) + 1]


def with_option(command: list[str], name: str, value: str) -> list[str]:
    option(command, name)
    index = command.index(name) + 1
    return [*command[:index], value, *command[index + 1 :]]


def app_target(command: list[str]) -> str:
    """The command's application, `module:factory`."""
    targets = [argument for argument in command if re.fullmatch(r"[\w.]+:\w+", argument)]
    assert len(targets) == 1, command
    return targets[0]


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def pid_namespace_refusal() -> str | None:
    """Why this machine cannot start a process as PID 1 of a PID namespace, as a container
    does; None when it can (as root, or with CAP_SYS_ADMIN)."""
    if shutil.which("unshare") is None:
        return "no unshare (util-linux) on this machine"
    tried = run(["unshare", "--pid", "--fork", "--kill-child", "true"], REPO_ROOT, check=False)
    if tried.returncode != 0:
        return f"`unshare --pid` is not permitted here: {tried.tail(1)}"
    return None


@pytest.fixture(scope="module")
def service(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The default project, installed, with the test-only probe module and a migrated database
    of its own on the meta suite's server."""
    project = sync(render(template, tmp_path_factory.mktemp("shutdown") / "my-service"))
    package = app_target(dockerfile_command(project)).split(".")[0]
    (project / f"{PROBE_MODULE}.py").write_text(PROBE.replace("{package}", package))
    env = project_env(database="meta_shutdown_test")
    query(project, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", env)
    query(project, f"CREATE DATABASE {DATABASE}", env)
    try:
        url = database_url(env, DATABASE, scheme="postgresql+asyncpg")
        uv_run(project, "alembic", "upgrade", "head", env=env | {"DATABASE_URL": url})
        yield project
    finally:
        query(project, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", env)


@pytest.mark.parametrize("as_pid_1", [True, False], ids=["pid-1", "child-process"])
def test_sigterm_lets_the_request_in_flight_finish_and_closes_the_pool(
    service: Path, tmp_path: Path, as_pid_1: bool
) -> None:
    """As PID 1 of a PID namespace of its own (`pid-1`; skipped where the machine allows none),
    the server runs as in its container; as a plain child process, it runs on every machine."""
    if as_pid_1 and (refusal := pid_namespace_refusal()):
        pytest.skip(refusal)
    command = dockerfile_command(service)
    grace = float(option(command, "--timeout-graceful-shutdown"))
    port = free_port()
    # The Dockerfile's command line, but for the probe's application, and on a free port of
    # the loopback interface.
    target = app_target(command)
    local = with_option(with_option(command, "--host", "127.0.0.1"), "--port", str(port))
    served = [f"{PROBE_MODULE}:create_app" if arg == target else arg for arg in local]
    release = tmp_path / "release"
    env = project_env(
        # The image's environment: the project's virtual environment first on PATH.
        PATH=f"{service / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        PYTHONUNBUFFERED="1",
        DATABASE_URL=database_url(project_env(), DATABASE, scheme="postgresql+asyncpg"),
        SLOW_REQUEST_RELEASE=str(release),
    )
    # unshare forks the server as PID 1 of a new PID namespace, and waits; --kill-child: killing
    # unshare kills the server too.
    prefix = ["unshare", "--pid", "--fork", "--kill-child"] if as_pid_1 else []
    log_path = tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"

    with log_path.open("w") as log:
        # A live server, to send SIGTERM to with a request in flight.
        process = subprocess.Popen(
            [*prefix, *served],
            cwd=service,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def until(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"{what}: not after {timeout:g} s\n{server_log()}"
            time.sleep(0.05)

    def server_log() -> str:
        return f"`{' '.join(served)}` wrote:\n{log_path.read_text()}"

    def alive() -> bool:
        assert process.poll() is None, f"the server exited {process.returncode}\n{server_log()}"
        return True

    # The slow request's client, in a thread of its own.
    client = ThreadPoolExecutor(max_workers=1)
    try:
        server_pid = process.pid
        if as_pid_1:
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
            until(lambda: alive() and children.read_text().split() != [], "unshare forks")
            server_pid = int(children.read_text().split()[0])
        until(lambda: alive() and answers(f"{base}/health"), "GET /health answers 200")

        slow = client.submit(Client(base).request, "GET", "/slow")
        until(lambda: alive() and IN_FLIGHT in log_path.read_text(), "GET /slow is in flight")
        os.kill(server_pid, signal.SIGTERM)
        signalled = time.monotonic()

        until(lambda: refuses_connections(port), "new connections are refused", timeout=30)
        # Not ready from then on: a readiness probe finds no listener (the preStop sleep before
        # SIGTERM has already taken the pod out of the Service).
        assert not answers(f"{base}/ready"), server_log()
        assert not slow.done(), server_log()  # held until released: in flight still
        release.touch()
        answer = slow.result(timeout=60)
        assert (answer.status, answer.json()) == (200, {"status": "done"}), server_log()

        try:
            returncode = process.wait(timeout=signalled + grace - time.monotonic())
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {grace:g} s after SIGTERM\n{server_log()}")
    finally:
        # On failure, the server goes first: the slow request then ends at once.
        if process.poll() is None:
            process.kill()
            process.wait()
        client.shutdown(cancel_futures=True)

    # As PID 1, the kernel ignores the SIGTERM uvicorn raises again after its shutdown (PID 1
    # gets no signal it has no handler for), and it exits 0. As a child process it dies of it.
    assert returncode == (0 if as_pid_1 else -signal.SIGTERM), server_log()
    lines = log_path.read_text().splitlines()

    def first(text: str) -> int:
        found = [index for index, line in enumerate(lines) if text in line]
        assert found, f"{text!r} is not in the log\n{server_log()}"
        return found[0]

    # In this order: the server stops accepting, the request in flight is answered, then the
    # lifespan's shutdown closes the pool's connection.
    assert (
        first("Shutting down")
        < first("GET /slow HTTP/1.1")  # its access log line, whatever the log's format
        < first("Waiting for application shutdown.")
        < first(POOL_CLOSED)
        < first("Application shutdown complete.")
        < first("Finished server process")
    ), server_log()
    assert "timeout graceful shutdown exceeded" not in log_path.read_text()


def test_compose_gives_the_service_longer_than_its_graceful_shutdown(
    matrix_projects: Callable[[str], Path],
) -> None:
    """Docker's default stop timeout (10 s) is shorter than the server's graceful shutdown:
    compose must wait longer before it sends SIGKILL, and run the Dockerfile's own command."""
    project = matrix_projects("none-domain-docker-github")  # the default answers
    grace = float(option(dockerfile_command(project), "--timeout-graceful-shutdown"))
    app = yaml.safe_load((project / "compose.yaml").read_text())["services"]["app"]

    assert "command" not in app
    assert "entrypoint" not in app
    stop_grace_period = str(app.get("stop_grace_period"))
    assert re.fullmatch(r"[0-9]+s", stop_grace_period), stop_grace_period
    # Room for the lifespan's shutdown after the requests' grace period.
    assert int(stop_grace_period[:-1]) >= grace + 5, (stop_grace_period, grace)
