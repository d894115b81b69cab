"""Our template's per-test cost beside s3rius/FastAPI-template's (fastapi-template on PyPI):
the same workload, on the same PostgreSQL server and the same interpreter. Prints a table,
writes bench/results/compare.json.

    uv run --group bench python -m bench.compare [--rounds 5] [--quick]

The server is TEST_DATABASE_URL's (default: postgres@127.0.0.1:5432, trust authentication).
Each round runs every measurement of both projects once, rather than each measurement in a
row: the machine's speed drifts over minutes, and this way the drift weighs on both alike.
The table gives the median and [min-max] over rounds, and the ratio of the medians.
--quick uses 40 tests and 1 round, to check the script.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from bench.run import BENCH_FILES, PYTEST, median_range, prepare_project, steady_state
from tools.projects import find_python, project_env, run, sync

S3RIUS_PACKAGE = "fastapi-template==6.1.2"
S3RIUS_NAME = "s3rius_service"  # its settings read environment variables prefixed S3RIUS_SERVICE_
# REST API, PostgreSQL, SQLAlchemy ORM, Alembic migrations, the dummy model and its routes.
S3RIUS_OPTIONS = [
    *("--name", S3RIUS_NAME, "--quiet"),
    *("--api-type", "rest", "--db", "postgresql", "--orm", "sqlalchemy", "--ci", "none"),
    *("--migrations", "--dummy", "--routers"),
]
S3RIUS_TEST = Path(__file__).parent / "s3rius" / "test_round_trip.py"
DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
RESULTS = Path(__file__).parent / "results" / "compare.json"
METRICS = {
    "steady_ms": "steady ms/test",
    "wall_s": "whole run, s",
    "parallel_s": "whole run with -n 2, s",
}


@dataclass
class Side:
    """One project under test, and how to run the workload in it."""

    name: str
    project: Path
    env: dict[str, str]
    plugin: str  # the timing plugin, as a module for -p
    tests: str


def prepare_ours(workdir: Path, server: SplitResult) -> Side:
    project = prepare_project(workdir)  # default answers, bench/project as tests/bench
    env = project_env(TEST_DATABASE_URL=server._replace(path="/compare_test").geturl())
    return Side("ours", project, env, "tests.bench.timing_plugin", "tests/bench/test_round_trip.py")


def prepare_s3rius(workdir: Path, server: SplitResult, xdist_version: str) -> Side:
    run(["uvx", "--from", S3RIUS_PACKAGE, "fastapi_template", *S3RIUS_OPTIONS], workdir)
    # The generator runs `uv sync` itself but only warns if it fails: run it where it must pass.
    project = sync(workdir / S3RIUS_NAME)
    # Not among its dependencies; the same version as ours. --python names the project's
    # environment: uv's pip interface would take UV_PYTHON as the one to install into.
    xdist = f"pytest-xdist=={xdist_version}"
    run(["uv", "pip", "install", "--quiet", "--python", ".venv/bin/python", xdist], project)
    shutil.copy(BENCH_FILES / "timing_plugin.py", project / "tests")
    shutil.copy(S3RIUS_TEST, project / "tests")
    prefix = S3RIUS_NAME.upper()
    # Its database's name is set by its pytest-env settings (pyproject.toml): <name>_test.
    env = project_env() | {
        f"{prefix}_DB_HOST": server.hostname or "127.0.0.1",
        f"{prefix}_DB_PORT": str(server.port or 5432),
        f"{prefix}_DB_USER": server.username or "postgres",
        f"{prefix}_DB_PASS": server.password or "",
    }
    return Side("s3rius", project, env, "tests.timing_plugin", "tests/test_round_trip.py")


def installed_version(side: Side, package: str) -> str:
    script = f"import importlib.metadata as m; print(m.version({package!r}))"
    return run([".venv/bin/python", "-c", script], side.project, env=side.env).tail(1)


def first_error(output: str) -> str:
    """The first line pytest marks as an error, else the last line of the output."""
    lines = output.strip().splitlines() or ["(no output)"]
    return next((line[1:].strip() for line in lines if line.startswith("E ")), lines[-1])


def run_suite(side: Side, cases: int, workers: int = 0) -> dict[str, Any]:
    """Run the workload once: wall time from process start to exit and, serially, the steady
    per-test time. A failure under xdist is a result (s3rius's fixtures may not be made for
    it), not a crash."""
    record_path = side.project.parent / f"record-{side.name}.json"
    env = side.env | {"BENCH_CASES": str(cases)}
    command = [*PYTEST, "-p", side.plugin, side.tests]
    if workers:
        command += ["-n", str(workers)]
    else:
        env["BENCH_OUT"] = str(record_path)
    started = time.time()
    result = run(command, side.project, env=env, timeout=3600, check=not workers)
    wall = time.time() - started
    if result.returncode != 0:
        return {"fails": first_error(result.output)}
    if workers:
        return {"wall_s": wall}
    steady = steady_state(json.loads(record_path.read_text())["starts"])
    return {"steady_ms": steady * 1000, "wall_s": wall}


def measure_round(sides: list[Side], cases: int) -> dict[str, dict[str, Any]]:
    """Every measurement of both sides once; serial, then parallel, side after side."""
    figures: dict[str, dict[str, Any]] = {side.name: {} for side in sides}
    for side in sides:
        figures[side.name] |= run_suite(side, cases)
    for side in sides:
        parallel = run_suite(side, cases, workers=2)
        figures[side.name]["parallel_s"] = parallel.get("wall_s", parallel.get("fails"))
    return figures


def summary(values: list[Any]) -> dict[str, Any]:
    """Median, least and greatest; or, if a run failed, how many did and the first error."""
    failures = [value for value in values if isinstance(value, str)]
    if failures:
        return {"fails": len(failures), "of": len(values), "error": failures[0]}
    return median_range(values)


def cell(figure: dict[str, Any]) -> str:
    if "fails" in figure:
        return f"fails ({figure['fails']}/{figure['of']} rounds)"
    return f"{figure['median']:.2f} [{figure['min']:.2f}-{figure['max']:.2f}]"


def print_table(summaries: dict[str, dict[str, Any]], cases: int, rounds: int) -> None:
    rows = [("metric", "ours", "s3rius", "s3rius/ours")]
    for metric, label in METRICS.items():
        ours, theirs = summaries["ours"][metric], summaries["s3rius"][metric]
        both_ran = "median" in ours and "median" in theirs
        ratio = f"{theirs['median'] / ours['median']:.2f}x" if both_ran else "-"
        rows.append((f"{label} ({cases} tests)", cell(ours), cell(theirs), ratio))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    print(f"median [min-max] over {rounds} round(s)")
    for row in rows:
        print(
            "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip()
        )
    for name, figures in summaries.items():
        for metric, figure in figures.items():
            if "fails" in figure:
                print(f"{name}, {METRICS[metric]}, first error: {figure['error']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="40 tests, 1 round")
    parser.add_argument(
        "--python",
        default="3.13",
        help="interpreter (version or path) of both projects; s3rius's needs 3.12 or newer",
    )
    args = parser.parse_args()
    cases, rounds = (40, 1) if args.quick else (200, args.rounds)
    # The server alone: each side names its own databases on it.
    server = urlsplit(os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER))._replace(path="")
    python = args.python if Path(args.python).is_file() else find_python(args.python)
    if python is None:
        sys.exit(f"No Python {args.python} found; pass --python with an interpreter's path.")
    # Every uv command below (tools.projects' too, which pass our environment on) builds on
    # this one interpreter, so that the two sides differ in their code, not their Python.
    os.environ["UV_PYTHON"] = python
    os.environ["UV_PYTHON_DOWNLOADS"] = "never"

    with tempfile.TemporaryDirectory() as workdir:
        ours = prepare_ours(Path(tempfile.mkdtemp(dir=workdir)), server)
        xdist_version = installed_version(ours, "pytest-xdist")
        s3rius = prepare_s3rius(Path(tempfile.mkdtemp(dir=workdir)), server, xdist_version)
        sides = [ours, s3rius]
        for side in sides:  # ours migrates its template; both write their bytecode caches
            run_suite(side, cases)
        raw = []
        for number in range(rounds):
            # Alternate which side goes first, so neither always runs on the warmer machine.
            order = sides if number % 2 == 0 else sides[::-1]
            raw.append(measure_round(order, cases))
            print(f"round {number + 1} of {rounds} done", flush=True)
        versions = {side.name: installed_version(side, "pytest") for side in sides}

    summaries = {
        side.name: {metric: summary([r[side.name][metric] for r in raw]) for metric in METRICS}
        for side in sides
    }
    results = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "processor": platform.processor(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
        "python": run([python, "--version"], Path.cwd()).output.strip(),
        "pytest": versions,
        "s3rius": S3RIUS_PACKAGE,
        "tests_per_run": cases,
        "rounds": rounds,
        "summary": summaries,
        "raw": raw,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(summaries, cases, rounds)


if __name__ == "__main__":
    main()
