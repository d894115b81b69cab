"""What a change of the template costs every test: the generated suite's steady-state cost per
API test at another revision and in the working tree, measured in interleaved rounds.

    TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_test \\
        uv run python -m bench.revisions REV [--repeat 5] [--cases 300]

Both sides run the benchmark's round-trip workload (bench/project) on the same server; each
round runs both, in alternating order. Prints the medians, their ranges and the ratio.
"""

import argparse
import shutil
import statistics
import tarfile
import tempfile
from pathlib import Path

from bench.run import BENCH_FILES, run_suite
from tools.projects import (
    REPO_ROOT,
    find_python,
    project_env,
    render,
    run,
    snapshot_template,
    sync,
)


def template_at(revision: str, destination: Path) -> Path:
    """The questions and files of the template at `revision`, extracted to `destination`."""
    archive = destination.with_suffix(".tar")
    run(["git", "archive", "--output", str(archive), revision, "copier.yml", "template"], REPO_ROOT)
    with tarfile.open(archive) as tar:
        tar.extractall(destination, filter="data")
    archive.unlink()
    return destination


def prepare(template: Path, workdir: Path, python: str | None) -> Path:
    options = ["--python", python] if python else []
    project = sync(render(template, workdir / "my-service"), *options)
    shutil.copytree(BENCH_FILES, project / "tests" / "bench")
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="the git revision to compare the working tree with")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--cases", type=int, default=300, help="tests per run")
    parser.add_argument("--python", help="interpreter (version) of both projects")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-revisions-"))
    sides = {}
    for name, template in [
        (args.revision, template_at(args.revision, workdir / "old-template")),
        ("working tree", snapshot_template(Path(tempfile.mkdtemp(dir=workdir)))),
    ]:
        (workdir / name.replace(" ", "-")).mkdir()
        python = find_python(args.python) if args.python else None
        sides[name] = prepare(template, workdir / name.replace(" ", "-"), python)
    env = project_env(database="bench_test")

    steady: dict[str, list[float]] = {name: [] for name in sides}
    for round_number in range(args.repeat):
        order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
        for name in order:
            result = run_suite(sides[name], args.cases, env=env)
            steady[name].append(result["steady"] * 1000)
        print(
            f"round {round_number + 1}: " + ", ".join(f"{n} {v[-1]:.2f}" for n, v in steady.items())
        )

    print(f"\nSteady state, ms per API test ({args.repeat} rounds of {args.cases} tests):")
    for name, values in steady.items():
        print(
            f"  {name:>14}: {statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"
        )
    old, new = (statistics.median(values) for values in steady.values())
    print(f"  working tree / {args.revision}: {new / old:.3f}")
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
