"""A rolling restart under load, rehearsed on the loopback interface (tools/rolling.py): three
replicas of a default render behind a proxy that plays the Kubernetes Service, restarted one
by one as the manifests stop and start pods; prints the requests, the failures, the 5xx and
the latencies (p50, p99).

    uv run python -m bench.rolling_restart [--callers 8] [--pre-stop 1] [--rounds 1]

The database server is TEST_DATABASE_URL's, or else an embedded one of its own.
"""

import argparse
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from pytest_pgengine import Project
from pytest_pgengine.servers.local import LocalServer

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
from tools.rolling import Load, rolling_restart, service_replicas

REPLICAS = 3
GRACEFUL = 5


def rehearse(project: Path, env: dict[str, str], options: argparse.Namespace) -> None:
    with service_replicas(project, env, project, GRACEFUL, REPLICAS) as (balancer, replicas):
        for round_number in range(1, options.rounds + 1):
            with Load(balancer.port, callers=options.callers).running() as load:
                exits = rolling_restart(balancer, replicas, options.pre_stop)
            figures = ", ".join(f"{name} {value:.0f}" for name, value in load.figures().items())
            print(f"round {round_number}: {figures}; replicas stopped with {exits}")
            for error in load.errors[:5]:
                print(f"  {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=8, help="requests at a time")
    parser.add_argument("--pre-stop", type=float, default=1.0, help="the preStop sleep, s")
    parser.add_argument("--rounds", type=int, default=1, help="rolling restarts, one by one")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-rolling-"))
    server = None
    try:
        if not os.environ.get("TEST_DATABASE_URL"):
            server = LocalServer.embedded(Project.at(REPO_ROOT, "bench_rolling"))
            url = server.start("bench_rolling")
            os.environ["TEST_DATABASE_URL"] = url.render_as_string(hide_password=False)
        template = snapshot_template(Path(tempfile.mkdtemp(dir=workdir)))
        project = sync(render(template, workdir / "my-service"))
        database = f"bench_rolling_{secrets.token_hex(4)}"
        query(project, f"CREATE DATABASE {database}", project_env())
        env = project_env(DATABASE_URL=database_url(project_env(), database, "postgresql+asyncpg"))
        run([str(project / ".venv" / "bin" / "alembic"), "upgrade", "head"], project, env=env)
        try:
            rehearse(project, env, options)
        finally:
            query(project, f"DROP DATABASE {database} WITH (FORCE)", project_env())
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
