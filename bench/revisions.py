"""What a change of the template costs: the generated suite's steady-state cost per API test,
its start-up on the embedded server with its data kept (to the end of the first test), and the
inner loop (one test by name, the generated suite serially, as bench/run.py times them), at
another revision and in the working tree, measured in interleaved rounds.

    TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_test \\
        uv run python -m bench.revisions REV [--repeat 5] [--cases 300]

Both sides run the benchmark's round-trip workload (bench/project, each side its own revision's)
on the same servers; each round runs both, in alternating order. Prints the medians, their
ranges and the ratios.
"""

import argparse
import shutil
import statistics
import tarfile
import tempfile
from pathlib import Path

from bench.run import BENCH_FILES, developer_runs, run_suite
from tools.projects import (
    REPO_ROOT,
    find_python,
    project_env,
    remove_server_homes,
    render,
    run,
    snapshot_template,
    sync,
    zero_setup_env,
)


def template_at(revision: str, destination: Path) -> Path:
    """The questions and files of the template, and the benchmark's files, at `revision`,
    extracted to `destination`."""
    archive = destination.with_suffix(".tar")
    paths = ["copier.yml", "template", "bench/project"]
    run(["git", "archive", "--output", str(archive), revision, *paths], REPO_ROOT)
    with tarfile.open(archive) as tar:
        tar.extractall(destination, filter="data")
    archive.unlink()
    return destination


def prepare(template: Path, bench_files: Path, workdir: Path, python: str | None) -> Path:
    options = ["--python", python] if python else []
    project = sync(render(template, workdir / "my-service"), *options)
    shutil.copytree(bench_files, project / "tests" / "bench")
    return project


def report(title: str, figures: dict[str, list[float]], revision: str) -> None:
    print(f"\n{title}:")
    for name, values in figures.items():
        print(
            f"  {name:>14}: {statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"
        )
    old, new = (statistics.median(values) for values in figures.values())
    print(f"  working tree / {revision}: {new / old:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="the git revision to compare the working tree with")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--cases", type=int, default=300, help="tests per run")
    parser.add_argument("--python", help="interpreter (version) of both projects")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-revisions-"))
    old = template_at(args.revision, workdir / "old-template")
    python = find_python(args.python) if args.python else None
    sides = {}
    for name, template, bench_files in [
        (args.revision, old, old / "bench" / "project"),
        ("working tree", snapshot_template(Path(tempfile.mkdtemp(dir=workdir))), BENCH_FILES),
    ]:
        side = workdir / name.replace(" ", "-")
        side.mkdir()
        sides[name] = prepare(template, bench_files, side, python)
    env = project_env(database="bench_test")
    embedded = zero_setup_env(BENCH_SAMPLE_EVERY="1000")
    for project in sides.values():
        run_suite(project, 20, env=embedded)  # the first run ever: initdb, migrating

    steady: dict[str, list[float]] = {name: [] for name in sides}
    startup: dict[str, list[float]] = {name: [] for name in sides}
    one_test: dict[str, list[float]] = {name: [] for name in sides}
    suite: dict[str, list[float]] = {name: [] for name in sides}
    for round_number in range(args.repeat):
        order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
        for name in order:
            result = run_suite(sides[name], args.cases, env=env)
            steady[name].append(result["steady"] * 1000)
            startup[name].append(run_suite(sides[name], 20, env=embedded)["startup"])
            inner_loop = developer_runs(sides[name])
            one_test[name].append(inner_loop["one_test"])
            suite[name].append(inner_loop["suite"])
        print(
            f"round {round_number + 1}: "
            + ", ".join(f"{n} {steady[n][-1]:.2f} ms, {startup[n][-1]:.2f} s" for n in sides)
        )

    report(
        f"Steady state, ms per API test ({args.repeat} rounds of {args.cases} tests)",
        steady,
        args.revision,
    )
    report(
        "Start-up to the end of the first test, s, embedded server, data kept",
        startup,
        args.revision,
    )
    report("One test by name, s, embedded server, data kept", one_test, args.revision)
    report("The generated suite, serially, s, embedded server, data kept", suite, args.revision)
    for project in sides.values():
        remove_server_homes(project)
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
