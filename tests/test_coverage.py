"""Coverage a team can trust: untested code fails the run, and the lines SQLAlchemy runs inside
its greenlets (each awaited query) count as run. The gate's own runs (tests/test_gate.py) show
that every gated variant meets its floor, serially and with xdist alike."""

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.projects import uv_run, zero_setup_env

PACKAGE = "my_service"  # the default answers'
UNTESTED_FUNCTIONS = 80
FAILED_FLOOR = re.compile(
    r"FAIL Required test coverage of [\d.]+% not reached\. Total coverage: [\d.]+%"
)
AWAITED_QUERY = re.compile(r"^(?P<indent>\s*)(\w+ = )?await self\.session\.")


def executed_lines(report: Path, folder: str) -> dict[str, set[int]]:
    """The lines run in each file of the package's `folder`, from coverage's JSON report."""
    files = json.loads(report.read_text())["files"]
    prefix = f"src/{PACKAGE}/{folder}/"
    return {
        name: set(data["executed_lines"]) for name, data in files.items() if name.startswith(prefix)
    }


def after_awaited_queries(source: str) -> set[int]:
    """The statements right after an awaited query in the same block: SQLAlchemy's greenlet
    has switched back and forth before they run."""
    lines = [*source.splitlines(), ""]
    found = set()
    for number, line in enumerate(lines[:-1], start=1):
        if query := AWAITED_QUERY.match(line):
            following = lines[number]
            # Same indentation: the next statement of the block, not a continuation line.
            indent = len(following) - len(following.lstrip())
            if following.strip() and indent == len(query["indent"]):
                found.add(number + 1)
    return found


def toml_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else json.dumps(value)


def test_untested_code_fails_the_run_on_coverage(render_project: Callable[..., Path]) -> None:
    project = render_project()
    functions = [
        f"def untested_{number}(value: int) -> int:\n    return value + {number}\n"
        for number in range(UNTESTED_FUNCTIONS)
    ]
    (project / "src" / PACKAGE / "untested.py").write_text("\n\n".join(functions))

    result = uv_run(project, "pytest", "-q", "--cov", env=zero_setup_env(), check=False)

    # Every test passes; the run fails on coverage alone, naming the file that lacks tests.
    assert " passed" in result.output, result.tail()
    assert " failed" not in result.output, result.tail()
    assert FAILED_FLOOR.search(result.output), result.tail()
    assert f"src/{PACKAGE}/untested.py" in result.output, result.tail()
    assert result.returncode == 1, result.tail()


def test_lines_after_an_awaited_query_count_as_run(default_project: Path, tmp_path: Path) -> None:
    """The project's coverage settings count them; the same settings with coverage's default
    concurrency (threads only) miss some: the `greenlet` setting is what counts them."""
    pyproject = tomllib.loads((default_project / "pyproject.toml").read_text())
    settings = pyproject["tool"]["coverage"]["run"]
    threads_only = tmp_path / "threads-only.toml"
    lines = [f"{key} = {toml_value(value)}" for key, value in settings.items()]
    lines = [line for line in lines if not line.startswith("concurrency =")]
    threads_only.write_text("\n".join(["[tool.coverage.run]", *lines, 'concurrency = ["thread"]']))
    executed = {}
    for name, options in [("project", []), ("threads only", [f"--cov-config={threads_only}"])]:
        report = tmp_path / f"{name}.json"
        command = ["pytest", "-q", "-p", "no:randomly", "--cov", "--cov-fail-under=0"]
        command += [f"--cov-report=json:{report}", *options, "tests/integration"]
        env = zero_setup_env(COVERAGE_FILE=str(tmp_path / f".coverage.{name}"))
        uv_run(default_project, *command, env=env)
        executed[name] = executed_lines(report, "repositories")
    after_queries = {
        name: after_awaited_queries((default_project / name).read_text())
        for name in executed["project"]
    }
    assert any(after_queries.values()), "no awaited query found in the repositories"

    missed = {name: lines - executed["project"][name] for name, lines in after_queries.items()}
    missed_by_threads_only = {
        name: lines - executed["threads only"][name] for name, lines in after_queries.items()
    }

    assert not any(missed.values()), missed
    assert any(missed_by_threads_only.values()), "the greenlet setting made no difference"
