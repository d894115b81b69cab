"""What anonymous sign-ups cost a login: a login's latency idle and while 20 sign-ups run at
once, on the JWT service served by uvicorn with the production Argon2 costs, at another
revision (before) and in the working tree (after), in interleaved rounds.

    TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_test \\
        uv run --group bench python -m bench.signups REV [--repeat 3] [--signups 20] [--logins 10]

Each round starts the service, times `--logins` logins one after another with nothing else
running (idle), then sends the sign-ups all at once and times as many logins again while they
run (loaded), then times twice as many sign-ups' answers, for a taken and a free address in
turns. Before issue 33 a sign-up hashed before it answered, in the pool logins use; after, it
answers 202 at once and its hash runs in a lane of its own (one thread, a lower priority), so
"while they run" means while their hashes run, which the logins start right after. Prints
each round's figures, then the medians of the rounds with their ranges.
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

# One round, on a freshly started service: idle logins, then the sign-ups at once and as many
# logins while they run. Prints the figures in milliseconds.
LOAD = """
import asyncio, json, secrets, sys, time
import httpx

BASE, SIGNUPS, LOGINS, EMAIL, PASSWORD = sys.argv[1:]
SIGNUPS, LOGINS = int(SIGNUPS), int(LOGINS)
LOGIN = {"email": EMAIL, "password": PASSWORD}


async def login(client):
    start = time.perf_counter()
    response = await client.post("/api/v1/auth/login", json=LOGIN)
    assert response.status_code == 200, response.text
    return (time.perf_counter() - start) * 1000


def account():
    email = f"new.{secrets.token_hex(6)}@example.com"
    return {"email": email, "full_name": "New", "password": secrets.token_urlsafe(16)}


async def main():
    limits = httpx.Limits(max_connections=SIGNUPS + 2)
    async with httpx.AsyncClient(base_url=BASE, limits=limits, timeout=300) as client:
        await login(client)  # warm: connections, and the dummy hash's first use
        idle = [await login(client) for _ in range(LOGINS)]
        signups = [asyncio.create_task(client.post("/api/v1/users", json=account()))
                   for _ in range(SIGNUPS)]
        await asyncio.sleep(0.05)  # sent, and being served
        loaded = [await login(client) for _ in range(LOGINS)]
        answers = sorted({(await signup).status_code for signup in signups})
        assert set(answers) <= {201, 202}, answers
        # A sign-up's answer for a taken address (the bench user's) and a free one, in turns.
        answered = {"taken": [], "free": []}
        for turn in range(LOGINS * 2):
            kind = ["taken", "free"][turn % 2]
            body = account() | ({"email": EMAIL} if kind == "taken" else {})
            start = time.perf_counter()
            await client.post("/api/v1/users", json=body)
            answered[kind].append((time.perf_counter() - start) * 1000)
    print(json.dumps({"idle": idle, "loaded": loaded, "answers": answers, **answered}))


asyncio.run(main())
"""


def prepare(template: Path, workdir: Path, name: str) -> tuple[Path, dict[str, str]]:
    """The JWT render of `template`, installed, and the environment of its service, on a
    migrated database of its own with the user who logs in."""
    project = sync(render(template, workdir / "my-service", auth="jwt"))
    admin = project_env(database="bench_test")
    database = f"bench_signups_{name}"
    query(project, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", admin)
    query(project, f"CREATE DATABASE {database}", admin)
    url = database_url(admin, database, scheme="postgresql+asyncpg")
    env = project_env(DATABASE_URL=url, SECRET_KEY=SECRET_KEY, LOG_LEVEL="WARNING")
    uv_run(project, "alembic", "upgrade", "head", env=env)
    uv_run(project, "python", "-c", ADD_USER, EMAIL, PASSWORD, env=env)
    return project, env


def round_figures(
    project: Path, env: dict[str, str], signups: int, logins: int
) -> dict[str, float]:
    with served(project, env, project / "service.log") as base:
        output = uv_run(
            project, "python", "-c", LOAD, base, str(signups), str(logins), EMAIL, PASSWORD, env=env
        )
    figures = json.loads(output.tail(1))
    return {
        "login idle, median": statistics.median(figures["idle"]),
        "login idle, slowest": max(figures["idle"]),
        # Before, the sign-ups' hashes were queued ahead of it in the pool logins use: it waits
        # for them all, and the logins after it find the pool free again.
        "first login loaded": figures["loaded"][0],
        "login loaded, median": statistics.median(figures["loaded"]),
        "login loaded, slowest": max(figures["loaded"]),
        "loaded / idle (medians)": (
            statistics.median(figures["loaded"]) / statistics.median(figures["idle"])
        ),
        "sign-up answer, taken, median": statistics.median(figures["taken"]),
        "sign-up answer, free, median": statistics.median(figures["free"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="the git revision to compare the working tree with")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--signups", type=int, default=20, help="sign-ups at once")
    parser.add_argument("--logins", type=int, default=10, help="logins timed, idle and loaded")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-signups-"))
    templates = {
        "before": template_at(args.revision, workdir / "old-template"),
        "after": snapshot_template(Path(tempfile.mkdtemp(dir=workdir))),
    }
    sides = {}
    for name, template in templates.items():
        (workdir / name).mkdir()
        sides[name] = prepare(template, workdir / name, name)

    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    for round_number in range(args.repeat):
        order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
        for name in order:
            project, env = sides[name]
            rounds[name].append(round_figures(project, env, args.signups, args.logins))
            figures = ", ".join(f"{key} {value:.1f}" for key, value in rounds[name][-1].items())
            print(f"round {round_number + 1}, {name}: {figures}", flush=True)

    print(
        f"\nA login while {args.signups} sign-ups run, ms: median of {args.repeat} rounds [range]"
    )
    print(f"  before = {args.revision}, after = the working tree")
    for key in rounds["before"][0]:
        cells = []
        for name in sides:
            values = [figures[key] for figures in rounds[name]]
            cells.append(
                f"{name} {statistics.median(values):7.1f} [{min(values):.1f}-{max(values):.1f}]"
            )
        print(f"  {key:>24}: " + "   ".join(cells))
    for name in templates:
        project, _ = sides[name]
        query(project, f"DROP DATABASE IF EXISTS bench_signups_{name} WITH (FORCE)", project_env())
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
