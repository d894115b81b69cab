"""A rolling restart under load, rehearsed on the loopback interface (tools/rolling.py): three
replicas of a default render behind a proxy that plays the Kubernetes Service, restarted one
by one as the manifests stop and start pods, with the replicas on the database itself, through
PgBouncer in transaction mode (DATABASE_TRANSACTION_POOLER=true, as the production overlay
runs them), or both in turn; prints the requests, the failures, the 5xx and the latencies (p50,
p99) of each.

    uv run python -m bench.rolling_restart [--through direct|pgbouncer|both] [--callers 8]
        [--pre-stop 1] [--rounds 1]

The database server is TEST_DATABASE_URL's, or else an embedded one of its own; PgBouncer is
Debian's (apt-get install pgbouncer), started on a free loopback port (tools/pgbouncer.py).
"""

import argparse
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_pgengine import Project
from pytest_pgengine.servers.local import LocalServer

from tools.pgbouncer import MISSING, pgbouncer_program, running_pgbouncer
from tools.projects import (
    REPO_ROOT,
    database_url,
    project_env,
    query,
    render,
    run,
    snapshot_template,
    sync,
)
from tools.rolling import Load, rolling_restart, service_env, service_replicas

REPLICAS = 3
GRACEFUL = 5
WAYS = {"direct": ["direct"], "pgbouncer": ["pgbouncer"], "both": ["direct", "pgbouncer"]}


def rehearse(project: Path, env: dict[str, str], through: str, options: argparse.Namespace) -> None:
    with service_replicas(project, env, project, GRACEFUL, REPLICAS) as (balancer, replicas):
        for round_number in range(1, options.rounds + 1):
            with Load(balancer.port, callers=options.callers).running() as load:
                exits = rolling_restart(balancer, replicas, options.pre_stop)
            figures = ", ".join(f"{name} {value:.0f}" for name, value in load.figures().items())
            print(f"{through}, round {round_number}: {figures}; replicas stopped with {exits}")
            for error in load.errors[:5]:
                print(f"  {error}")


@contextmanager
def new_database(project: Path) -> Iterator[str]:
    """A new database on the server, migrated by the migration Job's command, for the block."""
    database = f"bench_rolling_{secrets.token_hex(4)}"
    query(project, f"CREATE DATABASE {database}", project_env())
    try:
        env = project_env(DATABASE_URL=database_url(project_env(), database, "postgresql+asyncpg"))
        run([str(project / ".venv" / "bin" / "alembic"), "upgrade", "head"], project, env=env)
        yield database
    finally:
        query(project, f"DROP DATABASE {database} WITH (FORCE)", project_env())


@contextmanager
def replicas_env(
    through: str, database: str, program: str | None, folder: Path
) -> Iterator[dict[str, str]]:
    """The replicas' environment on `database`: direct, or through a new PgBouncer (`program`,
    its files in `folder`) for the block, with nothing on its connections from before."""
    if through == "direct":
        yield service_env(database)
        return
    assert program is not None
    with running_pgbouncer(program, folder) as port:
        yield service_env(database, port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--through", choices=sorted(WAYS), default="both", help="the replicas' way")
    parser.add_argument("--callers", type=int, default=8, help="requests at a time")
    parser.add_argument("--pre-stop", type=float, default=1.0, help="the preStop sleep, s")
    parser.add_argument("--rounds", type=int, default=1, help="rolling restarts, one by one")
    options = parser.parse_args()
    program = pgbouncer_program()
    if "pgbouncer" in WAYS[options.through] and program is None:
        sys.exit(MISSING)
    workdir = Path(tempfile.mkdtemp(prefix="bench-rolling-"))
    server = None
    try:
        if not os.environ.get("TEST_DATABASE_URL"):
            server = LocalServer.embedded(Project.at(REPO_ROOT, "bench_rolling"))
            url = server.start("bench_rolling")
            os.environ["TEST_DATABASE_URL"] = url.render_as_string(hide_password=False)
        template = snapshot_template(Path(tempfile.mkdtemp(dir=workdir)))
        project = sync(render(template, workdir / "my-service"))
        for through in WAYS[options.through]:
            folder = Path(tempfile.mkdtemp(dir=workdir))
            with (
                new_database(project) as database,
                replicas_env(through, database, program, folder) as env,
            ):
                rehearse(project, env, through, options)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
