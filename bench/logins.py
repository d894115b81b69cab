"""How a burst of logins treats everything else: the latency of GET /health and of a database
read (GET /api/v1/users) while 50 logins run at once against the JWT service, served by uvicorn
with the production Argon2 costs, at another revision (before) and in the working tree (after),
in interleaved rounds.

    TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_test \\
        uv run --group bench python -m bench.logins REV [--repeat 5] [--logins 50] [--bound 1]

Prints each round's figures, then the medians of the rounds with their ranges. --bound N adds
a side: the working tree with PASSWORD_HASH_CONCURRENCY=N instead of its default.
"""

import argparse
import json
import secrets
import shutil
import statistics
import tempfile
from pathlib import Path

from bench.revisions import template_at
from tools.projects import (
    database_url,
    project_env,
    query,
    render,
    snapshot_template,
    sync,
    uv_run,
)
from tools.serving import served

SECRET_KEY = secrets.token_urlsafe(48)

# Run by the project's interpreter (it has httpx): one user, then the logins all at once while
# a probe asks for /health and for a page of users in turn, until the last login is answered.
LOAD = """
import asyncio, json, sys, time
import httpx

BASE, LOGINS = sys.argv[1], int(sys.argv[2])
USER = {"email": "bench@example.com", "full_name": "Bench", "password": "bench password"}
LOGIN = {"email": USER["email"], "password": USER["password"]}


async def timed(client, path):
    start = time.perf_counter()
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return (time.perf_counter() - start) * 1000


async def main():
    limits = httpx.Limits(max_connections=LOGINS + 2)
    async with httpx.AsyncClient(base_url=BASE, limits=limits, timeout=300) as client:
        await client.post("/api/v1/users", json=USER)  # 201, or 409 from an earlier round
        idle = [await timed(client, "/health") for _ in range(20)]
        figures = {"idle": idle, "health": [], "read": []}
        started = time.perf_counter()
        logins = [asyncio.create_task(client.post("/api/v1/auth/login", json=LOGIN))
                  for _ in range(LOGINS)]
        while not all(login.done() for login in logins):
            figures["health"].append(await timed(client, "/health"))
            figures["read"].append(await timed(client, "/api/v1/users?limit=5"))
            await asyncio.sleep(0.01)
        answers = [(await login).status_code for login in logins]
        assert answers == [200] * LOGINS, answers
        figures["logins"] = (time.perf_counter() - started) * 1000
    print(json.dumps(figures))


asyncio.run(main())
"""


def prepare(template: Path, workdir: Path, name: str) -> tuple[Path, dict[str, str]]:
    """The JWT render of `template`, installed, and the environment of its service, on a
    migrated database of its own."""
    project = sync(render(template, workdir / "my-service", auth="jwt"))
    admin = project_env(database="bench_test")
    database = f"bench_logins_{name}"
    query(project, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", admin)
    query(project, f"CREATE DATABASE {database}", admin)
    url = database_url(admin, database, scheme="postgresql+asyncpg")
    env = project_env(DATABASE_URL=url, SECRET_KEY=SECRET_KEY, LOG_LEVEL="WARNING")
    uv_run(project, "alembic", "upgrade", "head", env=env)
    return project, env


def burst(project: Path, env: dict[str, str], logins: int) -> dict[str, float]:
    """One burst of `logins` on a freshly started service: the figures in milliseconds."""
    with served(project, env, project / "service.log") as base:
        output = uv_run(project, "python", "-c", LOAD, base, str(logins), env=env)
    figures = json.loads(output.tail(1))
    health = sorted(figures["health"])
    return {
        "health idle, median": statistics.median(figures["idle"]),
        "health, median": statistics.median(health),
        "health, p90": health[int(len(health) * 0.9)],
        "health, max": health[-1],
        "read, median": statistics.median(figures["read"]),
        "read, max": max(figures["read"]),
        "all logins answered": figures["logins"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="the git revision to compare the working tree with")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--logins", type=int, default=50, help="logins at once")
    parser.add_argument("--bound", type=int, help="also the working tree with this many hashes")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-logins-"))
    templates = {
        "before": template_at(args.revision, workdir / "old-template"),
        "after": snapshot_template(Path(tempfile.mkdtemp(dir=workdir))),
    }
    sides = {}
    for name, template in templates.items():
        (workdir / name).mkdir()
        sides[name] = prepare(template, workdir / name, name)
    if args.bound:
        project, env = sides["after"]
        sides[f"after, {args.bound}"] = (
            project,
            env | {"PASSWORD_HASH_CONCURRENCY": str(args.bound)},
        )

    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    for round_number in range(args.repeat):
        order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
        for name in order:
            rounds[name].append(burst(*sides[name], args.logins))
            figures = ", ".join(f"{key} {value:.0f}" for key, value in rounds[name][-1].items())
            print(f"round {round_number + 1}, {name}: {figures}", flush=True)

    print(f"\n{args.logins} logins at once, ms: median of {args.repeat} rounds [range]")
    print(f"  before = {args.revision}, after = the working tree")
    width = max(len(name) for name in sides)
    for key in rounds["before"][0]:
        cells = []
        for name in sides:
            values = [figures[key] for figures in rounds[name]]
            cells.append(
                f"{name:>{width}} {statistics.median(values):7.1f} "
                f"[{min(values):.1f}-{max(values):.1f}]"
            )
        print(f"  {key:>22}: " + "   ".join(cells))
    for name in templates:
        project, _ = sides[name]
        query(project, f"DROP DATABASE IF EXISTS bench_logins_{name} WITH (FORCE)", project_env())
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
