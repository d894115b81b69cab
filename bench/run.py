"""Benchmarks of the generated test suite: per-test cost, isolation strategies, parallel
scaling, start-up and memory. Prints a table, writes bench/results/latest.json and
docs/benchmarks.png.

    TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_test \\
        uv run --group bench python -m bench.run [--repeat 3] [--quick]

Each figure is the median of --repeat rounds, each round one run of every measurement.
--quick uses small sizes, to check the script.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.projects import (
    REPO_ROOT,
    project_env,
    query,
    remove_server_homes,
    render,
    run,
    snapshot_template,
    sync,
    zero_setup_env,
)

BENCH_FILES = Path(__file__).parent / "project"
RESULTS = Path(__file__).parent / "results" / "latest.json"
PLOT = REPO_ROOT / "docs" / "benchmarks.png"
STRATEGIES = ["savepoint", "delete", "truncate", "schema", "clone"]
# In a fixed order, and with no cache left in the project.
PYTEST = [".venv/bin/python", "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
WARM_UP = 10  # tests left out of the steady state: connection pool and caches filling up
# The inner loop: one test of the generated suite, run by name, as a developer reruns it.
ONE_TEST = "tests/integration/test_users_api.py::test_create_user_returns_it"
# What any run of one API test imports, whatever the project's code does: the floor under the
# inner loop's wall time.
LIBRARIES = "import asyncpg, fastapi, httpx, pytest, pytest_asyncio, sqlalchemy.ext.asyncio"
# A CPU-bound loop of about a second, to see how many such processes the machine runs at once.
BUSY_LOOP = "sum(range(30_000_000))"
STARTUP_RUNS = {
    "migrate_template_s": "TEST_DATABASE_URL, migrating the template",
    "cached_template_s": "TEST_DATABASE_URL, cached template",
    "embedded_cold_s": "embedded server, first run (initdb, migrating)",
    "embedded_warm_s": "embedded server, data kept",
}


def prepare_project(workdir: Path) -> Path:
    template = snapshot_template(Path(tempfile.mkdtemp(dir=workdir)))
    project = sync(render(template, workdir / "my-service"))
    shutil.copytree(BENCH_FILES, project / "tests" / "bench")
    return project


def steady_state(starts: list[float]) -> float:
    """Seconds per test after the warm-up, from the tests' start times. Start to start: the
    last test's teardown also ends the session (drops the database)."""
    return (starts[-1] - starts[WARM_UP]) / (len(starts) - WARM_UP - 1)


def run_suite(
    project: Path,
    cases: int,
    *,
    strategy: str = "savepoint",
    workers: int = 0,
    options: Sequence[str] = (),
    env: dict[str, str],
) -> dict[str, Any]:
    """Run the round-trip workload once, with pytest's `options`; return wall time and the
    per-test record."""
    records = Path(tempfile.mkdtemp(dir=project.parent))
    record_path = records / "record.json"
    run_env = env | {"BENCH_CASES": str(cases), "BENCH_STRATEGY": strategy}
    if not workers:
        run_env["BENCH_OUT"] = str(record_path)
    command = [*PYTEST, "-p", "tests.bench.timing_plugin", "tests/bench/test_round_trip.py"]
    if workers:
        command += ["-n", str(workers)]
    command += options
    started = time.time()
    run(command, project, env=run_env, timeout=3600)
    wall = time.time() - started
    result: dict[str, Any] = {"wall": wall, "cases": cases}
    if not workers:
        record = json.loads(record_path.read_text())
        starts, ends = record["starts"], record["ends"]
        # Start-up ends with the first test: the database it needs is made on its way in.
        result["startup"] = ends[0] - started
        result["steady"] = steady_state(starts)
        result["memory"] = record["memory"]
    shutil.rmtree(records)
    return result


def workload_floor(project: Path, cases: int, env: dict[str, str]) -> float:
    """Milliseconds per case of the workload run in a loop inside one test."""
    output = project / "floor.txt"
    run_env = env | {"BENCH_CASES": str(cases), "BENCH_OUT": str(output)}
    run([*PYTEST, "tests/bench/test_workload_floor.py"], project, env=run_env)
    return float(output.read_text())


def embedded_server_runs(project: Path, cases: int, env: dict[str, str]) -> dict[str, Any]:
    """Runs without TEST_DATABASE_URL, on the project's embedded server: the first ever (no
    data folder: initdb, migrating the template) and the next one (data folder kept)."""
    env = zero_setup_env(BENCH_SAMPLE_EVERY=env["BENCH_SAMPLE_EVERY"])
    remove_server_homes(project)
    cold = run_suite(project, cases, env=env)
    warm = run_suite(project, cases, env=env)
    return {"cold": cold, "warm": warm}


def wall_time(command: list[str], project: Path, env: dict[str, str]) -> float:
    started = time.time()
    run(command, project, env=env, timeout=600)
    return time.time() - started


def developer_runs(project: Path) -> dict[str, float]:
    """What a developer waits for with nothing set up (the embedded server, its data kept):
    one test run by name, and the generated suite, serially; and, for scale, the time it
    takes only to import the libraries that one test needs."""
    env = zero_setup_env()
    pytest = [".venv/bin/python", "-m", "pytest", "-q"]
    return {
        "one_test": wall_time([*pytest, ONE_TEST], project, env),
        "suite": wall_time([*pytest, "--ignore=tests/bench"], project, env),
        "libraries": wall_time([".venv/bin/python", "-c", LIBRARIES], project, env),
    }


def cpu_parallelism() -> float:
    """The work two CPU-bound processes side by side get done, against one alone: 2.0 where
    two cores are free, 1.0 where the machine only runs one at a time. It bounds what -n 2
    can gain."""

    def seconds(processes: int) -> float:
        # Live processes, started together: they must run at the same time.
        started = time.perf_counter()
        running = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(processes)]
        assert [process.wait() for process in running] == [0] * processes
        return time.perf_counter() - started

    return 2 * seconds(1) / seconds(2)


def measure_round(project: Path, small: int, large: int, env: dict[str, str]) -> dict[str, Any]:
    """One run of every measurement.

    The rounds are repeated, rather than each measurement in a row: on shared cores the
    machine's speed drifts by tens of percent over minutes, and this way the drift weighs on
    every measurement alike.
    """
    runs: dict[str, Any] = {
        "small": run_suite(project, small, env=env),
        "large": run_suite(project, large, env=env),
        "floor": {"ms": workload_floor(project, large, env)},
        "parallel": run_suite(project, large, workers=2, env=env),
        "parallel_small": run_suite(project, small, workers=2, env=env),
        "cores": {"parallelism": cpu_parallelism()},
    }
    for strategy in STRATEGIES:
        runs[strategy] = run_suite(project, small, strategy=strategy, env=env)
    drop_template(project, env)
    runs["cold"] = run_suite(project, small, env=env)
    runs["warm"] = run_suite(project, small, env=env)
    runs["embedded"] = embedded_server_runs(project, small, env)
    runs["developer"] = developer_runs(project)
    return runs


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(run[key]) for run in runs)


def median_range(values: list[float]) -> dict[str, float]:
    """Median, least and greatest: how every benchmark here reports a figure."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def spread(runs: list[dict[str, Any]], key: str, scale: float = 1000) -> dict[str, float]:
    """Median, least and greatest of `key` over the runs, times `scale`."""
    return median_range([run[key] * scale for run in runs])


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
        rounds = []
        for number in range(1, args.repeat + 1):
            rounds.append(measure_round(project, small, large, env))
            print(f"round {number} of {args.repeat} done", flush=True)
        memory_run = run_suite(project, memory_cases, env=env)

    def runs(name: str) -> list[dict[str, Any]]:
        return [measurements[name] for measurements in rounds]

    for name, cases in (("small", small), ("large", large)):
        results[f"savepoint_{cases}"] = {
            "steady_ms": spread(runs(name), "steady"),
            "whole_run_ms": spread(runs(name), "wall", 1000 / cases),
            "startup_s": median(runs(name), "startup"),
        }
    results["workload_floor_ms"] = spread(runs("floor"), "ms", 1)
    for strategy in STRATEGIES:
        results[f"strategy_{strategy}"] = {"steady_ms": spread(runs(strategy), "steady")}
    results["parallel"] = {
        f"serial_{large}_s": spread(runs("large"), "wall", 1),
        f"two_workers_{large}_s": spread(runs("parallel"), "wall", 1),
        f"serial_{small}_s": spread(runs("small"), "wall", 1),
        f"two_workers_{small}_s": spread(runs("parallel_small"), "wall", 1),
        "cpu_parallelism": spread(runs("cores"), "parallelism", 1),
    }
    results["developer"] = {
        "one_test_s": spread(runs("developer"), "one_test", 1),
        "suite_s": spread(runs("developer"), "suite", 1),
        "libraries_s": spread(runs("developer"), "libraries", 1),
    }
    embedded = runs("embedded")
    results["startup"] = {
        "migrate_template_s": spread(runs("cold"), "startup", 1),
        "cached_template_s": spread(runs("warm"), "startup", 1),
        "embedded_cold_s": spread([run["cold"] for run in embedded], "startup", 1),
        "embedded_warm_s": spread([run["warm"] for run in embedded], "startup", 1),
    }
    results["memory"] = {
        "samples": memory_run["memory"],
        "growth_mb_per_1000": memory_growth(memory_run["memory"]),
    }

    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results, small, large)
    plot(results)


def ms(figure: dict[str, float], unit: str = "ms/test") -> str:
    """A median with the range of the runs."""
    return f"{figure['median']:.2f} {unit} ({figure['min']:.2f}-{figure['max']:.2f})"


def break_even(parallel: dict[str, Any], small: int, large: int) -> str:
    """The number of tests at which -n 2 takes as long as a serial run, taking each as a fixed
    start-up plus a cost per test (the medians at the two sizes give both)."""

    def line(kind: str) -> tuple[float, float]:
        at_small = parallel[f"{kind}_{small}_s"]["median"]
        at_large = parallel[f"{kind}_{large}_s"]["median"]
        per_test = (at_large - at_small) / (large - small)
        return at_small - per_test * small, per_test

    (serial_start, serial_rate), (two_start, two_rate) = line("serial"), line("two_workers")
    if serial_rate <= two_rate:
        return "never: -n 2 costs as much per test as a serial run"
    return f"{(two_start - serial_start) / (serial_rate - two_rate):.0f} tests"


def print_table(results: dict[str, Any], small: int, large: int) -> None:
    ours = results["strategy_savepoint"]["steady_ms"]["median"]
    parallel = results["parallel"]
    rows = [
        (f"one test by name ({ONE_TEST})", ms(results["developer"]["one_test_s"], "s")),
        (
            "importing only the libraries one API test needs",
            ms(results["developer"]["libraries_s"], "s"),
        ),
        ("the generated suite, serially", ms(results["developer"]["suite_s"], "s")),
        *(
            (f"{measure.replace('_ms', '').replace('_', ' ')}, {cases} tests", ms(figure))
            for cases in (large, small)
            for measure, figure in results[f"savepoint_{cases}"].items()
            if measure != "startup_s"
        ),
        *(
            (f"start-up to the end of the first test, {cases} tests", f"{figure:.2f} s")
            for cases in (large, small)
            for figure in [results[f"savepoint_{cases}"]["startup_s"]]
        ),
        (f"the workload alone, {large} cases in one test", ms(results["workload_floor_ms"], "ms")),
        *(
            (
                f"isolation: {strategy}",
                f"{ms(results[f'strategy_{strategy}']['steady_ms'])} "
                f"{results[f'strategy_{strategy}']['steady_ms']['median'] / ours:.1f}x",
            )
            for strategy in STRATEGIES
        ),
        *(
            row
            for cases in (small, large)
            for serial, two in [(parallel[f"serial_{cases}_s"], parallel[f"two_workers_{cases}_s"])]
            for row in (
                (f"{cases} tests serially", ms(serial, "s")),
                (
                    f"{cases} tests with -n 2",
                    f"{ms(two, 's')}, {serial['median'] / two['median']:.2f}x as fast",
                ),
            )
        ),
        ("-n 2 breaks even at (linear between the two sizes)", break_even(parallel, small, large)),
        (
            "work done by 2 CPU-bound processes side by side, against 1",
            ms(parallel["cpu_parallelism"], "x"),
        ),
        *(
            (f"start-up, {what}", ms(results["startup"][key], "s"))
            for key, what in STARTUP_RUNS.items()
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
    costs = [results[f"strategy_{strategy}"]["steady_ms"]["median"] for strategy in STRATEGIES]
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
