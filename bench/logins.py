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
import statistics
from pathlib import Path

from bench.jwt_sides import EMAIL, PASSWORD, interleaved, jwt_sides, print_medians
from tools.projects import uv_run
from tools.serving import served

# Run by the project's interpreter (it has httpx): the logins all at once, as the user of
# jwt_sides, while a probe asks for /health and for a page of users in turn, until the last
# login is answered.
LOAD = """
import asyncio, json, sys, time
import httpx

BASE, LOGINS, EMAIL, PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
LOGIN = {"email": EMAIL, "password": PASSWORD}


async def timed(client, path):
    start = time.perf_counter()
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return (time.perf_counter() - start) * 1000


async def main():
    limits = httpx.Limits(max_connections=LOGINS + 2)
    async with httpx.AsyncClient(base_url=BASE, limits=limits, timeout=300) as client:
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


def burst(project: Path, env: dict[str, str], logins: int) -> dict[str, float]:
    """One burst of `logins` on a freshly started service: the figures in milliseconds."""
    with served(project, env, project / "service.log") as base:
        output = uv_run(project, "python", "-c", LOAD, base, str(logins), EMAIL, PASSWORD, env=env)
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

    with jwt_sides(args.revision, "logins") as sides:
        if args.bound:
            project, env = sides["after"]
            sides[f"after, {args.bound}"] = (
                project,
                env | {"PASSWORD_HASH_CONCURRENCY": str(args.bound)},
            )
        rounds = interleaved(sides, args.repeat, lambda side: burst(*side, args.logins))
    print_medians(f"{args.logins} logins at once", args.revision, rounds)


if __name__ == "__main__":
    main()
