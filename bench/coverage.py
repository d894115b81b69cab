"""What coverage costs the generated suite, and what xdist's work stealing changes. Prints a
table, writes bench/results/coverage.json and docs/coverage.png.

    TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_test \\
        uv run --group bench python -m bench.coverage [--repeat 5] [--pythons 3.11 3.12 3.13]

- Registering pytest-cov (`-p pytest_cov` in the project's addopts): one test run by name, with
  the plugin registered and without, coverage off in both.
- Coverage: the generated suite, serially, with `--cov` and without, on every Python asked for
  (a project installed on each); and which measurement core coverage picks there.
- `--dist worksteal` against xdist's default distribution (`load`), with `-n 2`: the benchmark's
  round trips (200 and 2000 tests, on TEST_DATABASE_URL's server) and the generated suite.

Every round runs every measurement once, each pair in alternating order; each figure is the
median of the rounds, with their range.
"""

import argparse
import json
import os
import resource
import shlex
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from bench.revisions import prepare
from bench.run import BENCH_FILES, ONE_TEST, median_range, run_suite
from tools.projects import (
    REPO_ROOT,
    find_python,
    project_env,
    remove_server_homes,
    run,
    snapshot_template,
    zero_setup_env,
)

RESULTS = Path(__file__).parent / "results" / "coverage.json"
PLOT = REPO_ROOT / "docs" / "coverage.png"
PYTEST = [".venv/bin/python", "-m", "pytest", "-q"]
SUITE = [*PYTEST, "--ignore=tests/bench"]
PLUGIN = ["-p", "pytest_cov"]
SIZES = (200, 2000)
DISTRIBUTIONS = ("load", "worksteal")


def seconds(command: list[str], project: Path, env: dict[str, str]) -> tuple[float, float]:
    """The wall time of `command`, and the processor time of its processes: on a machine that
    others load, the second tells an overhead of the process's own apart from waiting."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run(command, project, env=env, timeout=1200)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def import_time(project: Path, env: dict[str, str]) -> float:
    """Seconds that importing pytest-cov's plugin takes once pytest is imported (what `-p`
    adds to every run's imports), as `python -X importtime` reports it."""
    command = [".venv/bin/python", "-X", "importtime", "-c", "import pytest, pytest_cov.plugin"]
    output = run(command, project, env=env).output
    line = next(line for line in output.splitlines() if line.endswith("| pytest_cov.plugin"))
    return int(line.split("|")[1]) / 1e6


def addopts_with_and_without_the_plugin(project: Path) -> tuple[list[str], list[str]]:
    """The project's addopts as they are, and without pytest-cov."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    addopts: list[str] = pyproject["tool"]["pytest"]["addopts"]
    at = next(i for i in range(len(addopts) - 1) if addopts[i : i + 2] == PLUGIN)
    return addopts, addopts[:at] + addopts[at + 2 :]


def override(addopts: list[str]) -> list[str]:
    """Options that replace the project's addopts with `addopts`."""
    return ["-o", f"addopts={shlex.join(addopts)}"]


def core(project: Path) -> str:
    """The measurement core coverage picks with the project's configuration."""
    script = project.parent / "empty.py"
    script.write_text("pass\n")
    env = project_env(COVERAGE_FILE=str(project.parent / "core.coverage"))
    command = [".venv/bin/python", "-m", "coverage", "run", "--debug=core", str(script)]
    output = run(command, project, env=env).output
    return next(line for line in output.splitlines() if "Using core=" in line).split("=")[-1]


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    template = snapshot_template(Path(tempfile.mkdtemp(dir=workdir)))
    projects: dict[str, Path] = {}
    for version in args.pythons:
        interpreter = find_python(version)
        if interpreter is None:
            print(f"Python {version}: not on this machine, left out", flush=True)
            continue
        side = workdir / f"python{version}"
        side.mkdir()
        projects[version] = prepare(template, BENCH_FILES, side, interpreter)
    first = projects[next(iter(projects))]
    embedded = zero_setup_env()
    configured = project_env(database="bench_test", BENCH_SAMPLE_EVERY="1000")
    addopts, without = addopts_with_and_without_the_plugin(first)
    with_plugin, without_plugin = override(addopts), override(without)
    # Without the plugin --cov is unknown: the two arms differ in what they register.
    refused = run([*PYTEST, *without_plugin, "--cov", "--co"], first, env=embedded, check=False)
    assert "unrecognized arguments: --cov" in refused.output, refused.tail()
    for project in projects.values():
        run([*SUITE], project, env=embedded)  # the first run: initdb, migrating, caches
    run_suite(first, 20, env=configured)

    samples: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        samples.setdefault(name, []).append(value)

    def record_times(name: str, times: tuple[float, float]) -> None:
        record(name, times[0])
        record(f"{name}_cpu", times[1])

    for number in range(args.repeat):
        flip = number % 2 == 1
        record("plugin_import", import_time(first, embedded))
        for arm in reversed(("with", "without")) if flip else ("with", "without"):
            options = with_plugin if arm == "with" else without_plugin
            times = seconds([*PYTEST, *options, ONE_TEST], first, embedded)
            record_times(f"one_test_{arm}_plugin", times)
        for version, project in projects.items():
            for arm in reversed(("off", "on")) if flip else ("off", "on"):
                command = [*SUITE, "--cov"] if arm == "on" else SUITE
                record_times(f"suite_{version}_coverage_{arm}", seconds(command, project, embedded))
        for distribution in reversed(DISTRIBUTIONS) if flip else DISTRIBUTIONS:
            options = ["--dist", distribution]
            for cases in SIZES:
                result = run_suite(first, cases, workers=2, options=options, env=configured)
                record(f"round_trip_{cases}_{distribution}", result["wall"])
            command = [*SUITE, "-n", "2", *options]
            record(f"suite_n2_{distribution}", seconds(command, first, embedded)[0])
        print(f"round {number + 1} of {args.repeat} done", flush=True)

    results: dict[str, Any] = {
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "cores": {version: core(project) for version, project in projects.items()},
        "figures": {name: median_range(values) for name, values in samples.items()},
    }
    for project in projects.values():
        remove_server_homes(project)
    return results


def ratio(figures: dict[str, Any], numerator: str, denominator: str) -> float:
    return float(figures[numerator]["median"] / figures[denominator]["median"])


def seconds_text(figure: dict[str, float]) -> str:
    return f"{figure['median']:.2f} s ({figure['min']:.2f}-{figure['max']:.2f})"


def compared(figures: dict[str, Any], numerator: str, denominator: str) -> str:
    return (
        f"{seconds_text(figures[numerator])} / {seconds_text(figures[denominator])}: "
        f"{ratio(figures, numerator, denominator):.3f}x"
    )


def print_table(results: dict[str, Any]) -> None:
    figures = results["figures"]
    imported = {key: value * 1000 for key, value in figures["plugin_import"].items()}
    rows = [
        (
            "importing pytest-cov's plugin, after pytest",
            f"{imported['median']:.2f} ms ({imported['min']:.2f}-{imported['max']:.2f})",
        )
    ]
    for kind, what in (("", "wall"), ("_cpu", "processor")):
        rows.append(
            (
                f"one test by name, {what} time, pytest-cov registered / not",
                compared(figures, f"one_test_with_plugin{kind}", f"one_test_without_plugin{kind}"),
            )
        )
    for version, core_name in results["cores"].items():
        for kind, what in (("", "wall"), ("_cpu", "processor")):
            on, off = f"suite_{version}_coverage_on{kind}", f"suite_{version}_coverage_off{kind}"
            rows.append(
                (
                    f"the suite on Python {version}, {what} time, --cov ({core_name}) / without",
                    compared(figures, on, off),
                )
            )
    for what in [f"round_trip_{cases}" for cases in SIZES] + ["suite_n2"]:
        load, steal = f"{what}_load", f"{what}_worksteal"
        rows.append(
            (f"{what.replace('_', ' ')}, -n 2: worksteal / load", compared(figures, steal, load))
        )
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def plot(results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = results["figures"]
    versions = list(results["cores"])
    figure, panels = plt.subplots(1, 2, figsize=(10, 3.5))
    width = 0.38
    for panel, kind, what in zip(panels, ("", "_cpu"), ("wall", "processor"), strict=True):
        for offset, arm, colour in ((-width / 2, "off", "#999"), (width / 2, "on", "#2a7")):
            medians = [
                figures[f"suite_{version}_coverage_{arm}{kind}"]["median"] for version in versions
            ]
            positions = [index + offset for index in range(len(versions))]
            panel.bar(positions, medians, width, color=colour, label=f"coverage {arm}")
        panel.set_xticks(range(len(versions)), [f"Python {version}" for version in versions])
        panel.set_ylabel(f"{what} time (s)")
        panel.set_title(f"The generated suite, serially: {what} time")
        panel.legend()
    figure.tight_layout()
    figure.savefig(PLOT, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--pythons", nargs="+", default=["3.11", "3.12", "3.13"])
    args = parser.parse_args()
    if "TEST_DATABASE_URL" not in os.environ:
        sys.exit("Set TEST_DATABASE_URL (see the docstring).")
    with tempfile.TemporaryDirectory(prefix="bench-coverage-") as workdir:
        results = measure(args, Path(workdir))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    plot(results)


if __name__ == "__main__":
    main()
