"""Releases: what CHANGELOG.md records is what the release workflow publishes.

Each entry names a commit of main's history and, after the first, opens with the steps of an
update from the release before it; `tools/release.py` plans a tag and a GitHub release for each
entry without a tag (here in a clone, with `--dry-run`), with the test engine's sdist and wheel
built from the entry's own commit. With those tags, `copier copy` and `copier update` without
`--vcs-ref` take the newest release, never main's newer commits.
"""

import itertools
import re
import sys
from pathlib import Path

import copier
import pytest
import yaml

from tests.test_update import clear_template, commit_all, git, tag_releases, update
from tools.projects import REPO_ROOT, run, snapshot_template
from tools.release import releases

RELEASES = releases((REPO_ROOT / "CHANGELOG.md").read_text())


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """This repository as the release workflow checks it out (main, full history), with no tag."""
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", "--no-tags", str(REPO_ROOT), str(clone)], tmp_path)
    for tag in git("tag", "--list", cwd=clone).split():
        git("tag", "--delete", tag, cwd=clone)
    return clone


def dry_run(clone: Path) -> str:
    return run([sys.executable, "tools/release.py", "--dry-run"], clone).output


def test_every_release_names_a_commit_of_main_and_says_how_to_upgrade() -> None:
    assert RELEASES, "CHANGELOG.md records no release"
    for release in RELEASES:
        ancestor = ["git", "merge-base", "--is-ancestor", release.commit, "HEAD"]
        assert run(ancestor, REPO_ROOT, check=False).returncode == 0, release.version
    for release, previous in itertools.pairwise(RELEASES):
        assert release.notes.startswith(f"### Upgrading from {previous.version}\n"), release.version


def test_each_untagged_release_is_planned_oldest_first_with_the_engine_of_its_commit(
    clone: Path,
) -> None:
    planned = dry_run(clone).splitlines()

    assert [line.split(":")[0] for line in planned] == [r.version for r in reversed(RELEASES)]
    for line, release in zip(planned, reversed(RELEASES), strict=True):
        assert f"tag {release.commit}" in line
        has_engine = run(
            ["git", "cat-file", "-e", f"{release.commit}:template/pytest-pgengine"],
            clone,
            check=False,
        )
        assets = re.findall(r"'([^']+)'", line)
        if has_engine.returncode == 0:
            assert sorted(Path(a).suffix for a in assets) == [".gz", ".whl"], line
            assert all(a.startswith("pytest_pgengine-") for a in assets), line
        else:
            assert assets == [], line


def test_tagged_releases_are_not_published_again(clone: Path) -> None:
    for release in RELEASES:
        git("tag", release.version, release.commit, cwd=clone)

    assert "nothing to publish" in dry_run(clone)


def test_an_entry_naming_a_commit_outside_main_is_refused(clone: Path) -> None:
    changelog = clone / "CHANGELOG.md"
    stray = "f" * 40
    entry = f"## v99.0.0 (2026-12-31, commit {stray})\n\n- Nothing.\n\n"
    changelog.write_text(changelog.read_text().replace("## v", entry + "## v", 1))

    refused = run([sys.executable, "tools/release.py", "--dry-run"], clone, check=False)

    assert refused.returncode != 0
    assert f"v99.0.0: commit {stray} is not in this branch's history" in refused.output


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template's repository as users see it: each release tagged, and main's newer
    commits (the working tree) on top, untagged."""
    repo = tag_releases(tmp_path_factory.mktemp("published"))
    clear_template(repo)
    snapshot_template(repo)
    commit_all(repo, "Main, after the newest release")
    return repo


def recorded_commit(project: Path) -> str:
    return str(yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"])


def test_a_copy_without_a_ref_renders_the_newest_release(published: Path, tmp_path: Path) -> None:
    copier.run_copy(str(published), tmp_path / "service", defaults=True, quiet=True)

    assert recorded_commit(tmp_path / "service") == RELEASES[0].version


def test_an_update_without_a_ref_moves_to_the_newest_release(
    published: Path, tmp_path: Path
) -> None:
    project = tmp_path / "service"
    first = RELEASES[-1].version
    copier.run_copy(str(published), project, vcs_ref=first, defaults=True, quiet=True)
    git("init", "--quiet", cwd=project)
    commit_all(project, "Generated")

    update(project, None)

    assert recorded_commit(project) == RELEASES[0].version


def test_the_release_waits_for_every_other_job_on_main() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    jobs = workflow["jobs"]
    waited: set[str] = set()
    pending = list(jobs["release"]["needs"])
    while pending:
        job = pending.pop()
        waited.add(job)
        needs = jobs[job].get("needs", [])
        pending.extend([needs] if isinstance(needs, str) else needs)

    assert waited == jobs.keys() - {"release"}
    assert jobs["release"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert jobs["release"]["uses"] == "./.github/workflows/release.yml"
