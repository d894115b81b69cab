"""CI's test shards, run as the generated CI runs them: every test in exactly one shard."""

import shlex
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import UV_RUN, project_env, render, run

# Tests of one name in several modules tie in pytest-split's ordering (by name, not node id),
# and pytest-randomly shuffles the ties: only a seed shared by all shards keeps them apart.
# (Module names alike but for a digit shuffle alike under most seeds: these differ more.)
SAME_NAME = "def test_of_a_common_name() -> None:\n    pass\n"
MODULES = ["accounts", "billing", "catalog", "delivery", "emails", "feeds", "groups", "history"]
PIPELINE_ID = "4242"
Shard = tuple[str, dict[str, str]]  # a shard's shell command, and the variables CI sets for it


def only(values: set[Any]) -> Any:
    assert len(values) == 1, f"expected one, got {values}"
    return values.pop()


def github_shards(project: Path) -> list[Shard]:
    """GitHub Actions substitutes its expressions into the command before the shell runs it."""
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    jobs = [
        job
        for job in workflow["jobs"].values()
        if "shard" in job.get("strategy", {}).get("matrix", {})
    ]
    assert len(jobs) == 2, "the tests and the testcontainers jobs are both split"
    command = only(
        {step["run"] for job in jobs for step in job["steps"] if "--splits" in step.get("run", "")}
    )
    shards = only({tuple(job["strategy"]["matrix"]["shard"]) for job in jobs})
    runs: list[Shard] = []
    for shard in shards:
        expanded = command.replace("${{ matrix.shard }}", str(shard))
        expanded = expanded.replace("${{ github.run_id }}", PIPELINE_ID)
        assert "${{" not in expanded, expanded
        runs.append((expanded, {}))
    return runs


def gitlab_shards(project: Path) -> list[Shard]:
    """GitLab hands the matrix's and the pipeline's variables to the job's shell."""
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    jobs = [job for job in pipeline.values() if isinstance(job, dict) and "parallel" in job]
    assert len(jobs) == 2, "the tests and the testcontainers jobs are both split"
    command = only({line for job in jobs for line in job["script"] if "--splits" in line})
    shards = only({tuple(entry["SHARD"]) for job in jobs for entry in job["parallel"]["matrix"]})
    return [(command, {"SHARD": shard, "CI_PIPELINE_ID": PIPELINE_ID}) for shard in shards]


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

    for provider, shards in [("github", github_shards(project)), ("gitlab", gitlab_shards(gitlab))]:
        shares = [collected(command, project, env | variables) for command, variables in shards]

        assert len(shares) == 2, provider
        assert all(shares), f"{provider}: an empty shard"
        runs = Counter(test for share in shares for test in share)
        assert [test for test, count in runs.items() if count > 1] == [], f"{provider}: overlap"
        assert sorted(runs) == sorted(everything), f"{provider}: tests missing"
