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
import statistics
from pathlib import Path

from bench.jwt_sides import EMAIL, PASSWORD, interleaved, jwt_sides, print_medians
from tools.projects import uv_run
from tools.serving import served

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

    with jwt_sides(args.revision, "signups") as sides:
        rounds = interleaved(
            sides, args.repeat, lambda side: round_figures(*side, args.signups, args.logins)
        )
    print_medians(f"A login while {args.signups} sign-ups run", args.revision, rounds)


if __name__ == "__main__":
    main()
