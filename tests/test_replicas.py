"""A default render run as several replicas run it: migrated by processes started at once, and
served with 2 workers through Debian's PgBouncer in transaction mode (the generated README,
"Running several replicas").

PgBouncer comes from apt, started by the `pgbouncer` fixture (tests/conftest.py,
tools/pgbouncer.py) with `default_pool_size=4`: fewer server connections than the service's
2 workers x 5 pooled ones, so that the transactions of one client connection move between them.
Where pgbouncer is missing its test skips, saying why, except where META_PGBOUNCER=required.
"""

import secrets
import subprocess
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tools.projects import (
    UV_RUN,
    database_url,
    driver_dsn,
    new_database,
    project_env,
    query,
    render,
    sync,
    uv_run,
)
from tools.serving import Client, served

# The load: as many requests, as many at a time; a fifth of them writes.
REQUESTS = 600
AT_ONCE = 32
# Processes that run `alembic upgrade head` at once, and how many times they race (each time on
# a new database).
RACERS = 3
RACES = 3


@pytest.fixture(scope="module")
def project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sync(render(template, tmp_path_factory.mktemp("replicas") / "my-service"))


@pytest.fixture
def database(project: Path) -> Iterator[str]:
    with new_database(project, "meta_replicas") as name:
        yield name


# Holds the `public` schema (an uncommitted DROP) until as many sessions as it is given wait
# for a lock, or 60 s; then lets them all go at the same moment (rolls back). A migration waits
# there at its first CREATE, or earlier, on a lock of its own.
STARTING_LINE = """
import asyncio, sys, time
import asyncpg

async def main():
    connection = await asyncpg.connect(sys.argv[1])
    transaction = connection.transaction()
    await transaction.start()
    await connection.execute("DROP SCHEMA public CASCADE")
    print("held", flush=True)
    deadline = time.monotonic() + 60
    waiting = (
        "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    while await connection.fetchval(waiting) < int(sys.argv[2]) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await transaction.rollback()
    await connection.close()

asyncio.run(main())
"""


@pytest.mark.parametrize("race", range(1, RACES + 1))
def test_migrations_started_at_once_migrate_once(project: Path, database: str, race: int) -> None:
    env = project_env(DATABASE_URL=database_url(project_env(), database, "postgresql+asyncpg"))
    # The racers start within a second or two of each other, longer than the migrations take:
    # a starting line makes them meet.
    starting_line = subprocess.Popen(
        [".venv/bin/python", "-c", STARTING_LINE, driver_dsn(env, database), str(RACERS)],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert starting_line.stdout is not None
    assert starting_line.stdout.readline() == "held\n"
    racers = [
        subprocess.Popen(
            [*UV_RUN, "alembic", "upgrade", "head"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(RACERS)
    ]
    outputs = [racer.communicate(timeout=120)[0] for racer in racers]
    if starting_line.poll() is None:  # the racers ended before they all waited there
        starting_line.kill()
    starting_line.communicate()

    failed = [output for racer, output in zip(racers, outputs, strict=True) if racer.returncode]
    assert failed == [], f"race {race}: {len(failed)} failed; the first:\n{failed[0]}"
    # Each revision ran once, in one of them; the others found the schema migrated.
    upgrades = Counter(
        line.split("Running upgrade ", 1)[1].split(",", 1)[0]
        for output in outputs
        for line in output.splitlines()
        if "Running upgrade " in line
    )
    assert upgrades, outputs
    assert set(upgrades.values()) == {1}, upgrades
    versions = query(project, "SELECT version_num FROM alembic_version", env, database)
    assert len(versions) == 1, versions


def mixed_load(base: str) -> Counter[int]:
    """REQUESTS requests, AT_ONCE at a time: writes (users, posts) and reads; their statuses."""
    client = Client(base)
    author = client.request("POST", "/api/v1/users", new_user())
    assert author.status == 201, author.text
    author_id = author.json()["id"]
    post = {"author_id": author_id, "title": "Through the pooler", "body": "Text"}
    requests = [
        ("POST", "/api/v1/users", None),
        ("GET", "/api/v1/users?limit=10", None),
        ("GET", f"/api/v1/users/{author_id}", None),
        ("POST", "/api/v1/posts", post),
        ("GET", f"/api/v1/posts?author_id={author_id}", None),
    ]

    def one(index: int) -> int:
        method, path, body = requests[index % len(requests)]
        if path == "/api/v1/users":
            body = new_user()
        return client.request(method, path, body).status

    with ThreadPoolExecutor(AT_ONCE) as pool:
        return Counter(pool.map(one, range(REQUESTS)))


def new_user() -> dict[str, str]:
    return {"email": f"{secrets.token_hex(6)}@example.com", "full_name": "Replica"}


@pytest.mark.parametrize("transaction_pooler", [True, False], ids=["switch-on", "switch-off"])
def test_two_workers_through_pgbouncer_in_transaction_mode(
    project: Path, database: str, pgbouncer: int, tmp_path: Path, transaction_pooler: bool
) -> None:
    through_pgbouncer = f"postgresql+asyncpg://postgres@127.0.0.1:{pgbouncer}/{database}"
    # Migrated through PgBouncer too, as a job would be, with the switch on.
    migrate = project_env(DATABASE_URL=through_pgbouncer, DATABASE_TRANSACTION_POOLER="true")
    uv_run(project, "alembic", "upgrade", "head", env=migrate)
    env = project_env(
        DATABASE_URL=through_pgbouncer,
        DATABASE_TRANSACTION_POOLER=str(transaction_pooler).lower(),
        LOG_LEVEL="WARNING",
    )
    log = tmp_path / "service.log"

    with served(project, env, log, options=["--workers", "2"]) as base:
        statuses = mixed_load(base)

    errors = sum(count for status, count in statuses.items() if status >= 500)
    if transaction_pooler:
        assert set(statuses) <= {200, 201}, (statuses, log.read_text()[-3000:])
    else:
        # What the switch is for: prepared statements on the wrong server connection.
        assert errors > 0, statuses
