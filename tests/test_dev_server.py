"""`uv run dev.py` serves a generated service with nothing set up: the embedded server, a
migrated and seeded development database, and nothing left running once it is stopped."""

import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pytest_pgengine.servers.binaries import Binaries
from pytest_pgengine.servers.local import server_home

from tools.machine import modes_above, server_processes, wait_for
from tools.projects import UV_RUN, uv_run, zero_setup_env
from tools.serving import Client, answers, free_port

CREDENTIALS = re.compile(r"Sign in as (\S+) with the password '([^']+)'")


@contextmanager
def dev_server(
    project: Path, port: int, *options: str, stop_with: signal.Signals = signal.SIGTERM
) -> Iterator[Callable[[], str]]:
    """`uv run dev.py` running in `project` until the block ends, then stopped with `stop_with`
    (SIGTERM: a process manager; SIGINT: Ctrl-C); yields a function that returns its output."""
    log = project / f"dev-{port}.log"
    env = zero_setup_env()
    env.pop("DATABASE_URL", None)
    command = [*UV_RUN, "python", "dev.py", "--port", str(port), *options]
    with log.open("w") as output:
        # A live process, to stop with a signal as a user or a supervisor does.
        process = subprocess.Popen(
            command, cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        health = f"http://127.0.0.1:{port}/health"
        wait_for(lambda: answers(health) or process.poll() is not None, 180)
        assert process.poll() is None, log.read_text()
        yield log.read_text
    finally:
        process.send_signal(stop_with)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


@pytest.mark.parametrize("variant", ["default", "jwt"])
def test_the_dev_command_serves_seeded_data_and_leaves_nothing_running(
    gated_projects: Callable[[str], Path], variant: str
) -> None:
    project = gated_projects(variant)
    interpreter = project / ".venv" / "bin" / "python"
    modes_before = modes_above(project, interpreter)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    with dev_server(project, port, "--seed") as output:
        client = Client(base)
        docs = client.request("GET", "/docs")
        if variant == "jwt":
            found = CREDENTIALS.search(output())
            assert found, output()
            login = client.request(
                "POST", "/api/v1/auth/login", {"email": found[1], "password": found[2]}
            )
            assert login.status == 200, login.text
            client = Client(base, login.json()["access_token"])
        users = client.request("GET", "/api/v1/users")
        # The tests, in another terminal, while the service runs on the same server.
        tests = uv_run(project, "pytest", "-q", "-k", "health", env=zero_setup_env())
        still_serving = answers(f"{base}/health")
    first_output = output()

    assert docs.status == 200
    assert users.status == 200, users.text
    assert len(users.json()["items"]) >= 3, users.text
    assert " passed" in tests.output
    assert still_serving
    assert "Applying the migrations" in first_output
    assert server_processes(project) == [], "the server outlived the dev command"
    assert modes_above(project, interpreter) == modes_before

    data = server_home(Binaries.embedded().major, project) / "data"
    cluster = (data / "PG_VERSION").stat().st_ino
    started = time.monotonic()
    with dev_server(project, port, "--seed", stop_with=signal.SIGINT) as output:
        warm_start = time.monotonic() - started
        again = client.request("GET", "/api/v1/users")
    second_output = output()

    # Warm: no initdb, no migrations; and seeding twice adds nothing.
    assert (data / "PG_VERSION").stat().st_ino == cluster
    assert "Applying the migrations" not in second_output, second_output
    assert "The example data is there already." in second_output
    assert again.status == 200, again.text
    assert again.json()["items"] == users.json()["items"]
    assert server_processes(project) == []
    print(f"second start of {variant}: first answer after {warm_start:.2f} s")


def test_a_database_url_that_does_not_answer_is_named(default_project: Path) -> None:
    port = free_port()
    env = zero_setup_env(DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")

    result = uv_run(default_project, "python", "dev.py", "--port", str(port), env=env, check=False)

    assert result.returncode == 1, result.output
    assert "Cannot migrate the database of DATABASE_URL" in result.output
    assert server_processes(default_project) == []
