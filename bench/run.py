"""Benchmarks of the generated test suite: per-test cost, isolation strategies, parallel
scaling, start-up and memory. Prints a table, writes bench/results/latest.json and
docs/benchmarks.png.

    TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_test \\
        uv run --group bench python -m bench.run [--repeat 3] [--quick]

Each figure is the median of --repeat runs. --quick uses small sizes, to check the script.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.helpers import (
    REPO_ROOT,
    as_user,
    check,
    docker_engine_answers,
    project_env,
    query,
    readable_by_others,
    render,
    snapshot_template,
    sync,
    unprivileged_env,
    unprivileged_user,
)

BENCH_FILES = Path(__file__).parent / "project"
RESULTS = Path(__file__).parent / "results" / "latest.json"
PLOT = REPO_ROOT / "docs" / "benchmarks.png"
STRATEGIES = ["savepoint", "delete", "truncate", "schema", "clone"]
WARM_UP = 10  # tests left out of the steady state: connection pool and caches filling up


def prepare_project(workdir: Path) -> Path:
    template = snapshot_template(Path(tempfile.mkdtemp(dir=workdir)))
    project = sync(render(template, workdir / "my-service"))
    shutil.copytree(BENCH_FILES, project / "tests" / "bench")
    return project


def run_suite(
    project: Path,
    cases: int,
    *,
    strategy: str = "savepoint",
    workers: int = 0,
    env: dict[str, str],
    user: str | None = None,
) -> dict[str, Any]:
    """Run the round-trip workload once; return wall time and the per-test record.

    With `user`, the suite runs as that user (the project must be readable_by_others).
    """
    records = Path(tempfile.mkdtemp(dir=project.parent))
    records.chmod(0o777)  # the record is written by the user who runs the suite
    record_path = records / "record.json"
    run_env = env | {"BENCH_CASES": str(cases), "BENCH_STRATEGY": strategy}
    if not workers:
        run_env["BENCH_OUT"] = str(record_path)
    command = [
        ".venv/bin/python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-p",
        "tests.bench.timing_plugin",
        "tests/bench/test_round_trip.py",
    ]
    if workers:
        command += ["-n", str(workers)]
    if user is not None:
        command = as_user(user, command)
    started = time.time()
    check(command, project, env=run_env, timeout=3600)
    wall = time.time() - started
    result: dict[str, Any] = {"wall": wall, "cases": cases}
    if not workers:
        record = json.loads(record_path.read_text())
        starts, ends = record["starts"], record["ends"]
        # Start-up ends with the first test: the database it needs is made on its way in.
        result["startup"] = ends[0] - started
        # Start to start: the last test's teardown also ends the session (drops the database).
        result["steady"] = (starts[-1] - starts[WARM_UP]) / (cases - WARM_UP - 1)
        result["memory"] = record["memory"]
    shutil.rmtree(records)
    return result


def workload_floor(project: Path, cases: int, env: dict[str, str]) -> float:
    """Milliseconds per case of the workload run in a loop inside one test."""
    output = project / "floor.txt"
    command = [
        ".venv/bin/python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
    ]
    run_env = env | {"BENCH_CASES": str(cases), "BENCH_OUT": str(output)}
    check([*command, "tests/bench/test_workload_floor.py"], project, env=run_env)
    return float(output.read_text())


def throwaway_server_startup(
    project: Path, cases: int, repeat: int, env: dict[str, str]
) -> dict[str, Any]:
    """Start-up without TEST_DATABASE_URL: the suite starts a throwaway server of its own.

    As root, the suite runs as an unprivileged user (initdb refuses root).
    """
    if docker_engine_answers():
        path = "a testcontainers container"
    elif shutil.which("initdb") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        path = "a local server (initdb)"
    else:
        return {"path": "none: no Docker engine and no initdb", "startup_s": None}
    user = unprivileged_user() if os.geteuid() == 0 else None
    if user is None:
        env = {key: value for key, value in env.items() if key != "TEST_DATABASE_URL"}
    else:
        env = unprivileged_env(BENCH_SAMPLE_EVERY=env["BENCH_SAMPLE_EVERY"])
    with readable_by_others(project):
        runs = [run_suite(project, cases, env=env, user=user) for _ in range(repeat)]
    return {"path": path, "startup_s": median(runs, "startup")}


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def drop_template(project: Path, env: dict[str, str]) -> None:
    name = env["TEST_DATABASE_URL"].rsplit("/", 1)[1] + "_template"
    query(project, f'DROP DATABASE IF EXISTS "{name}"', env)


def memory_growth(samples: list[list[int]]) -> float:
    """Least-squares slope of resident memory, in MB per 1000 tests, after the first sample."""
    points = samples[1:]
    xs = [x for x, _ in points]
    ys = [y / 2**20 for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mean_x) ** 2 for x in xs
    )
    return slope * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    args = parser.parse_args()
    if "TEST_DATABASE_URL" not in os.environ:
        sys.exit("Set TEST_DATABASE_URL (see the docstring).")
    small, large, memory_cases = (50, 200, 500) if args.quick else (200, 2000, 5000)
    env = project_env(database="bench_test", BENCH_SAMPLE_EVERY=str(memory_cases // 20))
    results: dict[str, Any] = {
        "repeat": args.repeat,
        "machine": os.uname().machine,
        "cpus": os.cpu_count(),
    }

    with tempfile.TemporaryDirectory() as workdir:
        project = prepare_project(Path(workdir))
        run_suite(project, small, env=env)  # migrate the template once, warm the caches

        for cases in (small, large):
            runs = [run_suite(project, cases, env=env) for _ in range(args.repeat)]
            results[f"savepoint_{cases}"] = {
                "steady_ms": median(runs, "steady") * 1000,
                "whole_run_ms": median(runs, "wall") / cases * 1000,
                "startup_s": median(runs, "startup"),
            }
            print(f"savepoint, {cases} tests: {results[f'savepoint_{cases}']}", flush=True)

        floor = [workload_floor(project, large, env) for _ in range(args.repeat)]
        results["workload_floor_ms"] = statistics.median(floor)
        print(f"workload alone: {results['workload_floor_ms']:.2f} ms per case", flush=True)

        for strategy in STRATEGIES:
            runs = [
                run_suite(project, small, strategy=strategy, env=env) for _ in range(args.repeat)
            ]
            results[f"strategy_{strategy}"] = {"steady_ms": median(runs, "steady") * 1000}
            print(f"{strategy}: {results[f'strategy_{strategy}']}", flush=True)

        serial = [run_suite(project, large, env=env) for _ in range(args.repeat)]
        parallel = [run_suite(project, large, workers=2, env=env) for _ in range(args.repeat)]
        results["parallel"] = {
            "serial_s": median(serial, "wall"),
            "two_workers_s": median(parallel, "wall"),
        }
        print(f"parallel: {results['parallel']}", flush=True)

        cold, warm = [], []
        for _ in range(args.repeat):
            drop_template(project, env)
            cold.append(run_suite(project, small, env=env))
            warm.append(run_suite(project, small, env=env))
        results["startup"] = {
            "migrate_template_s": median(cold, "startup"),
            "cached_template_s": median(warm, "startup"),
            "throwaway_server": throwaway_server_startup(project, small, args.repeat, env),
        }
        print(f"startup: {results['startup']}", flush=True)

        memory_run = run_suite(project, memory_cases, env=env)
        results["memory"] = {
            "samples": memory_run["memory"],
            "growth_mb_per_1000": memory_growth(memory_run["memory"]),
        }

    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results, small, large)
    plot(results)


def print_table(results: dict[str, Any], small: int, large: int) -> None:
    ours = results["strategy_savepoint"]["steady_ms"]
    throwaway = results["startup"]["throwaway_server"]
    rows = [
        (
            f"steady state, {large} tests",
            f"{results[f'savepoint_{large}']['steady_ms']:.2f} ms/test",
        ),
        (
            f"whole run, {large} tests",
            f"{results[f'savepoint_{large}']['whole_run_ms']:.2f} ms/test",
        ),
        (
            f"steady state, {small} tests",
            f"{results[f'savepoint_{small}']['steady_ms']:.2f} ms/test",
        ),
        (
            f"whole run, {small} tests",
            f"{results[f'savepoint_{small}']['whole_run_ms']:.2f} ms/test",
        ),
        (
            f"the workload alone, {large} cases in one test",
            f"{results['workload_floor_ms']:.2f} ms/case",
        ),
        *(
            (
                f"isolation: {strategy}",
                f"{results[f'strategy_{strategy}']['steady_ms']:.2f} ms/test "
                f"({results[f'strategy_{strategy}']['steady_ms'] / ours:.1f}x)",
            )
            for strategy in STRATEGIES
        ),
        (f"{large} tests serially", f"{results['parallel']['serial_s']:.1f} s"),
        (
            f"{large} tests with -n 2",
            f"{results['parallel']['two_workers_s']:.1f} s "
            f"({results['parallel']['serial_s'] / results['parallel']['two_workers_s']:.2f}x)",
        ),
        ("start-up, migrating the template", f"{results['startup']['migrate_template_s']:.2f} s"),
        ("start-up, cached template", f"{results['startup']['cached_template_s']:.2f} s"),
        (
            "start-up, throwaway server",
            f"{throwaway['startup_s']:.2f} s ({throwaway['path']})"
            if throwaway["startup_s"] is not None
            else throwaway["path"],
        ),
        ("memory growth", f"{results['memory']['growth_mb_per_1000']:.2f} MB per 1000 tests"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def plot(results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (strategies, memory) = plt.subplots(1, 2, figsize=(11, 4))
    costs = [results[f"strategy_{strategy}"]["steady_ms"] for strategy in STRATEGIES]
    strategies.bar(STRATEGIES, costs, color=["#2a7"] + ["#999"] * (len(STRATEGIES) - 1))
    strategies.set_yscale("log")
    strategies.set_ylabel("ms per test (log scale)")
    strategies.set_title("Isolation strategy, same workload")
    samples = results["memory"]["samples"]
    memory.plot([x for x, _ in samples], [y / 2**20 for _, y in samples], marker="o")
    memory.set_xlabel("tests run")
    memory.set_ylabel("resident memory (MB)")
    memory.set_title("Memory of the pytest process")
    figure.tight_layout()
    PLOT.parent.mkdir(exist_ok=True)
    figure.savefig(PLOT, dpi=100)


if __name__ == "__main__":
    main()
