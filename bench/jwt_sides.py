"""What bench/logins.py and bench/signups.py share: the JWT service at another revision
(before) and in the working tree (after), each installed on a migrated database of its own,
measured in interleaved rounds, and the table of the rounds' medians.

Rounds alternate the order of the sides: the machine's speed drifts over minutes, and this
way the drift weighs on both alike.
"""

import secrets
import shutil
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

SECRET_KEY = secrets.token_urlsafe(48)
EMAIL, PASSWORD = "bench@example.com", "bench password"

# Run by the project's interpreter: the user who logs in, with the service's production costs,
# confirmed where the revision has confirmation (the bench reads no mail).
ADD_USER = """
import asyncio, sys
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from my_service.models import User
from my_service.security import create_password_hash
from my_service.settings import Settings

async def main():
    settings = Settings()
    engine = create_async_engine(settings.database_url)
    hashed = create_password_hash(settings).hash(sys.argv[2])
    async with async_sessionmaker(engine)() as session:
        user = User(email=sys.argv[1], full_name="Bench", hashed_password=hashed)
        if hasattr(User, "confirmed"):
            user.confirmed = True
        session.add(user)
        await session.commit()
    await engine.dispose()

asyncio.run(main())
"""


Side = tuple[Path, dict[str, str]]  # an installed project and its service's environment
Figures = dict[str, float]


@contextmanager
def jwt_sides(revision: str, bench: str) -> Iterator[dict[str, Side]]:
    """The sides "before" (`revision`) and "after" (the working tree), removed at the end with
    their databases, `bench_<bench>_before` and `bench_<bench>_after`."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{bench}-"))
    templates = {
        "before": template_at(revision, workdir / "old-template"),
        "after": snapshot_template(Path(tempfile.mkdtemp(dir=workdir))),
    }
    sides: dict[str, Side] = {}
    try:
        for name, template in templates.items():
            (workdir / name).mkdir()
            sides[name] = prepare(template, workdir / name, f"bench_{bench}_{name}")
        yield sides
    finally:
        if sides:
            project, _ = next(iter(sides.values()))
            drop(project, project_env(database="bench_test"), *databases_of(sides))
        shutil.rmtree(workdir)


def prepare(template: Path, workdir: Path, database: str) -> Side:
    """The JWT render of `template`, installed, and the environment of its service, on
    `database`, made anew and migrated, with the user who logs in."""
    project = sync(render(template, workdir / "my-service", auth="jwt"))
    admin = project_env(database="bench_test")
    drop(project, admin, database)
    query(project, f"CREATE DATABASE {database}", admin)
    url = database_url(admin, database, scheme="postgresql+asyncpg")
    env = project_env(DATABASE_URL=url, SECRET_KEY=SECRET_KEY, LOG_LEVEL="WARNING")
    uv_run(project, "alembic", "upgrade", "head", env=env)
    uv_run(project, "python", "-c", ADD_USER, EMAIL, PASSWORD, env=env)
    return project, env


def databases_of(sides: dict[str, Side]) -> set[str]:
    return {env["DATABASE_URL"].rsplit("/", 1)[1] for _, env in sides.values()}


def drop(project: Path, admin: dict[str, str], *databases: str) -> None:
    for database in databases:
        query(project, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", admin)


def interleaved(
    sides: dict[str, Side], repeat: int, measure: Callable[[Side], Figures]
) -> dict[str, list[Figures]]:
    """`measure` on every side, `repeat` rounds, printing each round's figures."""
    rounds: dict[str, list[Figures]] = {name: [] for name in sides}
    for round_number in range(repeat):
        order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
        for name in order:
            rounds[name].append(measure(sides[name]))
            figures = ", ".join(f"{key} {value:.1f}" for key, value in rounds[name][-1].items())
            print(f"round {round_number + 1}, {name}: {figures}", flush=True)
    return rounds


def print_medians(heading: str, revision: str, rounds: dict[str, list[Figures]]) -> None:
    """Each figure's median over the rounds, with its range, side by side."""
    print(f"\n{heading}, ms: median of {len(rounds['before'])} rounds [range]")
    print(f"  before = {revision}, after = the working tree")
    side_width = max(map(len, rounds))
    key_width = max(len(key) for key in rounds["before"][0])
    for key in rounds["before"][0]:
        cells = []
        for name, figures in rounds.items():
            values = [round_figures[key] for round_figures in figures]
            cells.append(
                f"{name:>{side_width}} {statistics.median(values):7.1f} "
                f"[{min(values):.1f}-{max(values):.1f}]"
            )
        print(f"  {key:>{key_width}}: " + "   ".join(cells))
