"""A rolling restart of a default render, rehearsed on the loopback interface as its Kubernetes
manifests run one (tools/rolling.py): three uvicorn replicas, on a database migrated once by
the migration Job's command, behind a proxy that plays the Service, restarted one by one (out
of rotation, the preStop sleep, SIGTERM, exit, a new process, ready, back in rotation) under a
bounded load: every request is answered, 200, and every replica stopped exits 0. The replicas
connect to the database itself, or through PgBouncer in transaction mode with
DATABASE_TRANSACTION_POOLER=true, as the manifests' production overlay runs them (the
`pgbouncer` fixture, tests/conftest.py: skipped without pgbouncer, except where
META_PGBOUNCER=required).

bench/rolling_restart.py prints the same figures (requests, failures, 5xx, p50, p99).
"""

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tools.projects import database_url, new_database, project_env, render, run, sync
from tools.rolling import Load, rolling_restart, service_env, service_replicas

REPLICAS = 3
# Shorter than the manifests' 5 s and 20 s: the loopback's connections end within a second.
PRE_STOP = 1.0
GRACEFUL = 5


@pytest.fixture(scope="module")
def project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sync(render(template, tmp_path_factory.mktemp("rolling") / "my-service"))


@pytest.fixture
def database(project: Path) -> Iterator[str]:
    with new_database(project, "meta_rolling") as name:
        yield name


def migration_command(project: Path) -> list[str]:
    """The migration Job's command (k8s/base/migration-job.yaml)."""
    job = yaml.safe_load((project / "k8s" / "base" / "migration-job.yaml").read_text())
    command: list[str] = job["spec"]["template"]["spec"]["containers"][0]["command"]
    return command


def rehearse(
    project: Path,
    database: str,
    folder: Path,
    out_of_rotation_first: bool,
    pgbouncer: int | None = None,
) -> tuple[Load, list[int]]:
    """The migrations, three replicas (through the PgBouncer on port `pgbouncer`, if given),
    and a rolling restart under load: the load, and the exit codes of the replicas stopped."""
    # The Job migrates the database itself, never through PgBouncer (k8s/).
    migrate = project_env(DATABASE_URL=database_url(project_env(), database, "postgresql+asyncpg"))
    command = migration_command(project)
    run([str(project / ".venv" / "bin" / command[0]), *command[1:]], project, env=migrate)
    env = service_env(database, pgbouncer)

    with (
        service_replicas(project, env, folder, GRACEFUL, REPLICAS) as (balancer, replicas),
        Load(balancer.port, callers=8, seconds=120).running() as load,
    ):
        exits = rolling_restart(
            balancer, replicas, PRE_STOP, out_of_rotation_first=out_of_rotation_first
        )
    print(load.figures())
    return load, exits


@pytest.mark.parametrize("through", ["direct", "pgbouncer"])
def test_a_rolling_restart_under_load_loses_no_request(
    project: Path, database: str, tmp_path: Path, request: pytest.FixtureRequest, through: str
) -> None:
    pgbouncer = request.getfixturevalue("pgbouncer") if through == "pgbouncer" else None
    load, exits = rehearse(
        project, database, tmp_path, out_of_rotation_first=True, pgbouncer=pgbouncer
    )

    figures = load.figures()
    # Each stopped by its own SIGTERM, after its shutdown: uvicorn raises the signal again once
    # done (PID 1 in a container exits 0 instead); not by the SIGKILL that follows a timeout.
    assert exits == [-signal.SIGTERM] * REPLICAS
    assert figures["requests"] >= 100, figures
    assert load.errors == [], load.errors[:5]
    assert (figures["failed (no answer)"], figures["5xx"], figures["other than 200"]) == (0, 0, 0)


def test_stopping_a_replica_still_in_rotation_loses_requests(
    project: Path, database: str, tmp_path: Path
) -> None:
    """The rehearsal can fail: a replica stopped before it leaves the rotation (no readiness
    change, no preStop sleep) refuses the connections sent to it until its successor serves."""
    load, _ = rehearse(project, database, tmp_path, out_of_rotation_first=False)

    assert load.figures()["failed (no answer)"] > 0, load.figures()
