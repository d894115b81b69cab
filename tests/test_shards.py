"""CI's test shards, run as the generated CI runs them: every test in exactly one shard, and one
coverage job that combines every shard's data before it reports and gates."""

import fnmatch
import re
import shlex
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.projects import UV_RUN, Result, project_env, render, run

# Tests of one name in several modules tie in pytest-split's ordering (by name, not node id),
# and pytest-randomly shuffles the ties: only a seed shared by all shards keeps them apart.
# (Module names alike but for a digit shuffle alike under most seeds: these differ more.)
SAME_NAME = "def test_of_a_common_name() -> None:\n    pass\n"
MODULES = ["accounts", "billing", "catalog", "delivery", "emails", "feeds", "groups", "history"]
PIPELINE_ID = "4242"
PYTHON = "3.11"  # the project's floor, the first Python of the CI matrix
Shard = tuple[str, dict[str, str]]  # a shard's shell command, and the variables CI sets for it
# What a job leaves that a fresh checkout of the next job does not have.
LEFT_BY_JOBS = [".coverage*", "htmlcov", "coverage.xml"]


def only(values: set[Any]) -> Any:
    assert len(values) == 1, f"expected one, got {values}"
    return values.pop()


def github_expand(text: str, shard: int) -> str:
    """GitHub Actions substitutes its expressions before the shell or the action sees them."""
    for expression, value in [
        ("matrix.shard", str(shard)),
        ("matrix.python-version", PYTHON),
        ("github.run_id", PIPELINE_ID),
    ]:
        text = text.replace(f"${{{{ {expression} }}}}", value)
    assert "${{" not in text, text
    return text


def github_split_jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    jobs = {
        name: job
        for name, job in workflow["jobs"].items()
        if "shard" in job.get("strategy", {}).get("matrix", {})
    }
    assert set(jobs) == {"tests", "tests-testcontainers"}, "both test jobs are split"
    return jobs


def split_step(steps: list[dict[str, Any]]) -> int:
    """The index of the step that runs a shard."""
    index: int = only(
        {index for index, step in enumerate(steps) if "--splits" in step.get("run", "")}
    )
    return index


def github_shards(project: Path) -> dict[str, list[Shard]]:
    """Each split job's shards."""
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    jobs = github_split_jobs(workflow)
    shards = only({tuple(job["strategy"]["matrix"]["shard"]) for job in jobs.values()})
    return {
        name: [
            (github_expand(job["steps"][split_step(job["steps"])]["run"], shard), {})
            for shard in shards
        ]
        for name, job in jobs.items()
    }


def gitlab_split_jobs(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    jobs = {
        name: job for name, job in pipeline.items() if isinstance(job, dict) and "parallel" in job
    }
    assert set(jobs) == {"tests", "tests-testcontainers"}, "both test jobs are split"
    return jobs


def gitlab_shards(project: Path) -> dict[str, list[Shard]]:
    """Each split job's shards: GitLab hands the matrix's and the pipeline's variables to the
    job's shell."""
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    jobs = gitlab_split_jobs(pipeline)
    shards = only(
        {tuple(entry["SHARD"]) for job in jobs.values() for entry in job["parallel"]["matrix"]}
    )
    return {
        name: [
            (
                only({line for line in job["script"] if "--splits" in line}),
                {"SHARD": shard, "CI_PIPELINE_ID": PIPELINE_ID},
            )
            for shard in shards
        ]
        for name, job in jobs.items()
    }


def collected(command: str, project: Path, env: dict[str, str]) -> list[str]:
    result = run(["bash", "-c", f"{command} --collect-only -q"], project, env=env)
    return [line for line in result.output.splitlines() if "::" in line]


def test_every_test_runs_in_exactly_one_shard(
    template: Path, render_project: Callable[..., Path], tmp_path: Path
) -> None:
    project = render_project(test_shards=2)
    # The other provider's CI file only: the project is the same.
    gitlab = render(template, tmp_path / "gitlab", ci="gitlab", test_shards=2)
    assert (gitlab / "pyproject.toml").read_text() == (project / "pyproject.toml").read_text()
    for module in MODULES:
        (project / "tests" / "unit" / f"test_{module}.py").write_text(SAME_NAME)
    env = project_env(database="meta_shards_test")
    # A seed of its own, as any run without --randomly-seed gets.
    everything = collected(shlex.join([*UV_RUN, "pytest"]), project, env)

    for provider, jobs in [("github", github_shards(project)), ("gitlab", gitlab_shards(gitlab))]:
        for job, shards in jobs.items():
            shares = [collected(command, project, env | variables) for command, variables in shards]

            assert len(shares) == 2, f"{provider} {job}"
            assert all(shares), f"{provider} {job}: an empty shard"
            runs = Counter(test for share in shares for test in share)
            assert [test for test, count in runs.items() if count > 1] == [], f"{job}: overlap"
            assert sorted(runs) == sorted(everything), f"{provider} {job}: tests missing"


def shell(lines: list[str], project: Path, env: dict[str, str]) -> Result:
    """A job's script lines, in one shell that stops at the first failure."""
    return run(["bash", "-e", "-c", "\n".join(lines)], project, env=env, check=False)


def start_next_job(project: Path) -> None:
    """Leave the project as a fresh checkout of it would be."""
    for pattern in LEFT_BY_JOBS:
        for path in project.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


def run_github_coverage(project: Path, artifacts: Path, env: dict[str, str]) -> Result:
    """The tests job's shards, each uploading its data file, then the coverage job."""
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    tests = github_split_jobs(workflow)["tests"]
    split = split_step(tests["steps"])
    upload = tests["steps"][split + 1]
    assert upload["uses"].startswith("actions/upload-artifact@"), upload
    for shard in tests["strategy"]["matrix"]["shard"]:
        start_next_job(project)
        step = tests["steps"][split]
        variables = {name: github_expand(value, shard) for name, value in step["env"].items()}
        job = shell([github_expand(step["run"], shard)], project, env | variables)
        assert job.returncode == 0, f"shard {shard}:\n{job.tail()}"
        data_file = project / github_expand(upload["with"]["path"], shard)
        assert data_file.is_file(), f"shard {shard} left no {data_file.name}"
        name = github_expand(upload["with"]["name"], shard)
        (artifacts / name).mkdir()
        shutil.copy(data_file, artifacts / name)

    coverage = workflow["jobs"]["coverage"]
    assert coverage["needs"] == "tests"
    start_next_job(project)
    download = only(
        {
            index
            for index, step in enumerate(coverage["steps"])
            if "download" in step.get("uses", "")
        }
    )
    options = coverage["steps"][download]["with"]
    assert options["merge-multiple"] is True
    for artifact in artifacts.iterdir():
        if fnmatch.fnmatch(artifact.name, options["pattern"]):
            for data_file in artifact.iterdir():
                shutil.copy(data_file, project)
    after = [step["run"] for step in coverage["steps"][download + 1 :] if "run" in step]
    result = shell(after, project, env)
    report = coverage["steps"][-1]
    assert report["if"] == "${{ !cancelled() }}", "the report is kept when the floor is not met"
    assert (project / report["with"]["path"]).is_dir(), result.tail()
    return result


def run_gitlab_coverage(
    project: Path, gitlab: Path, artifacts: Path, env: dict[str, str]
) -> Result:
    """The tests job's shards, each keeping its data file as an artifact, then the coverage job."""
    pipeline = yaml.safe_load((gitlab / ".gitlab-ci.yml").read_text())
    tests = gitlab_split_jobs(pipeline)["tests"]
    for shard in only({tuple(entry["SHARD"]) for entry in tests["parallel"]["matrix"]}):
        start_next_job(project)
        variables = {"PYTHON_VERSION": PYTHON, "SHARD": shard, "CI_PIPELINE_ID": PIPELINE_ID}
        job = shell(tests["script"], project, env | variables)
        assert job.returncode == 0, f"shard {shard}:\n{job.tail()}"
        kept = [path for pattern in tests["artifacts"]["paths"] for path in project.glob(pattern)]
        assert kept, f"shard {shard} kept no data file"
        for path in kept:
            shutil.copy(path, artifacts)

    coverage = pipeline["coverage"]
    assert coverage["needs"] == ["tests"]
    assert pipeline["stages"].index(coverage["stage"]) > pipeline["stages"].index(tests["stage"])
    start_next_job(project)
    for path in artifacts.iterdir():
        shutil.copy(path, project)
    result = shell(coverage["script"], project, env)
    assert coverage["artifacts"]["when"] == "always", "the report is kept when the floor is not met"
    assert all((project / path).is_dir() for path in coverage["artifacts"]["paths"])
    assert (project / coverage["artifacts"]["reports"]["coverage_report"]["path"]).is_file()
    # GitLab reads the total from the job's log with this expression.
    expression = coverage["coverage"].strip("/")
    assert re.search(expression, result.output, re.MULTILINE), result.tail()
    return result


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_the_coverage_job_combines_every_shard_before_it_gates(
    template: Path, render_project: Callable[..., Path], tmp_path: Path, provider: str
) -> None:
    project = render_project(test_shards=2)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    env = project_env(database=f"meta_shards_{provider}_test")

    if provider == "github":
        result = run_github_coverage(project, artifacts, env)
    else:
        gitlab = render(template, tmp_path / "gitlab", ci="gitlab", test_shards=2)
        result = run_gitlab_coverage(project, gitlab, artifacts, env)

    combined = re.search(r"^Combined (?P<count>\d+) files", result.output, re.MULTILINE)
    assert combined, result.tail()
    assert int(combined["count"]) == 2, result.tail()
    assert re.search(r"^TOTAL\s", result.output, re.MULTILINE), result.tail()
    assert result.returncode == 0, result.tail()
