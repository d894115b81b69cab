"""Releases: what CHANGELOG.md records is what the release workflow publishes.

Each entry names a commit of main's history and, after the first, opens with the steps of an
update from the release before it; `tools/release.py` plans a tag and a GitHub release for each
entry without a tag (here in a clone, with `--dry-run`), with the test engine's sdist and wheel
built from the entry's own commit.
"""

import itertools
import re
import sys
from pathlib import Path

import pytest

from tests.test_update import git
from tools.projects import REPO_ROOT, run
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
            assert [Path(a).suffix for a in assets] == [".gz", ".whl"], line
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
