"""`copier update` as users live it: from a tagged release to the template on disk, offline.

The template is snapshotted into a git repository of its own: the previous release (the newest
`v*` tag of this repository), the working tree on top of it, and one more commit that changes
the template, so that every update below really has something to bring.
"""

import re
import shutil
import sys
from pathlib import Path
from typing import Any

import copier
import pytest

from tools.projects import REPO_ROOT, load_moved_modules, run, snapshot_template
from tools.release import releases as recorded_releases

TEMPLATE_CHANGE = "Added by the next template release."
OWN_ROUTE = """

@router.get("/version")
async def version() -> dict[str, str]:
    return {"version": "1"}
"""
GIT_IDENTITY = ["-c", "user.name=Meta Suite", "-c", "user.email=meta-suite@example.com"]


def git(*args: str, cwd: Path) -> str:
    return run(["git", *GIT_IDENTITY, *args], cwd).output


def changelog_releases() -> dict[str, str]:
    """Every release that CHANGELOG.md records, newest first: its version and its commit."""
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    return {release.version: release.commit for release in recorded_releases(changelog)}


def previous_release() -> tuple[str, str]:
    """The newest release in this repository's history: its version and its commit.

    Taken from the newest `v*` tag; a clone without tags falls back on the commit that
    CHANGELOG.md records for each release.
    """
    describe = ["git", "describe", "--tags", "--abbrev=0", "--match", "v*", "HEAD"]
    described = run(describe, REPO_ROOT, check=False)
    if described.returncode == 0:
        tag = described.output.strip()
        return tag, tag
    releases = changelog_releases()
    assert releases, "no release tag, and no release commit in CHANGELOG.md"
    return next(iter(releases.items()))


def release_template(commit: str, destination: Path) -> Path:
    """The template (questions and files) as `commit` had it, extracted into `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    archive = destination / "release.tar"
    git("archive", "--output", str(archive), commit, "copier.yml", "template", cwd=REPO_ROOT)
    run(["tar", "-x", "-f", str(archive), "-C", str(destination)], destination)
    archive.unlink()
    return destination


def clear_template(repo: Path) -> None:
    (repo / "copier.yml").unlink(missing_ok=True)
    shutil.rmtree(repo / "template", ignore_errors=True)


def tag_releases(repo: Path) -> Path:
    """A new git repository in `repo` holding each release CHANGELOG.md records, oldest first:
    its template as its commit had it, tagged with its version (what the release workflow
    publishes)."""
    git("init", "--quiet", cwd=repo)
    for version, commit in reversed(changelog_releases().items()):
        clear_template(repo)
        release_template(commit, repo)
        commit_all(repo, f"Release {version}", tag=version)
    return repo


def commit_all(repo: Path, message: str, tag: str | None = None) -> None:
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "--allow-empty", "-m", message, cwd=repo)
    if tag:
        git("tag", tag, cwd=repo)


class Releases:
    def __init__(self, repo: Path, previous: str) -> None:
        self.repo = repo
        self.previous = previous  # the last published release
        self.current = f"{previous}.post1"  # the working tree
        self.next = f"{previous}.post2"  # the working tree plus a template change


@pytest.fixture(scope="session")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Releases:
    repo = tmp_path_factory.mktemp("template-repo")
    previous, commit = previous_release()
    git("init", "--quiet", cwd=repo)
    release_template(commit, repo)
    commit_all(repo, f"Release {previous}", tag=previous)

    (repo / "copier.yml").unlink()
    shutil.rmtree(repo / "template")
    snapshot_template(repo)
    releases = Releases(repo, previous)
    commit_all(repo, "The working tree", tag=releases.current)

    readme = repo / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + f"\n{TEMPLATE_CHANGE}\n")
    commit_all(repo, "A template change", tag=releases.next)
    return releases


def copy(releases: Releases, destination: Path, ref: str, **answers: Any) -> Path:
    copier.run_copy(
        str(releases.repo), destination, data=answers, vcs_ref=ref, defaults=True, quiet=True
    )
    git("init", "--quiet", cwd=destination)
    commit_all(destination, "Generated")
    return destination


def update(project: Path, ref: str | None, **answers: Any) -> None:
    copier.run_update(
        project,
        data=answers,
        vcs_ref=ref,
        defaults=True,
        overwrite=True,
        conflict="inline",
        quiet=True,
    )


def files(project: Path) -> dict[str, bytes]:
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in sorted(project.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


def assert_no_conflicts(project: Path) -> None:
    """No file of the project (what git sees: its environment and caches left out) holds a
    rejected hunk or a conflict marker."""
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", cwd=project)
    for name in listed.splitlines():
        assert not name.endswith(".rej"), name
        content = (project / name).read_bytes() if (project / name).is_file() else b""
        assert not re.search(rb"^(<<<<<<<|>>>>>>>) ", content, re.MULTILINE), name


def test_update_to_the_same_version_changes_nothing(releases: Releases, tmp_path: Path) -> None:
    project = copy(releases, tmp_path / "project", releases.current)

    update(project, releases.current)

    assert git("status", "--porcelain", cwd=project) == ""


def test_update_from_the_previous_release_equals_a_fresh_copy(
    releases: Releases, tmp_path: Path
) -> None:
    updated = copy(releases, tmp_path / "updated", releases.previous)
    fresh = copy(releases, tmp_path / "fresh", releases.current)

    update(updated, releases.current)

    # The same files, but for those an update keeps where an earlier release rendered moved
    # modules (a new copy has none, nor an update from a release after the move): each holds a
    # note, and the test that names them.
    kept = {name: text for name, text in files(updated).items() if name not in files(fresh)}
    assert {n: t for n, t in files(updated).items() if n not in kept} == files(fresh)
    if kept:
        moved = load_moved_modules(updated)
        assert set(kept) <= {*moved.MOVED, "tests/test_moved_modules.py"}
        held = [
            name
            for name in moved.MOVED
            if name in kept and moved.what_it_holds(kept[name].decode())
        ]
        assert held == []


def test_user_edits_survive_an_update_that_changes_the_template(
    releases: Releases, tmp_path: Path
) -> None:
    project = copy(releases, tmp_path / "project", releases.current)
    routes = project / "src" / "my_service" / "api" / "health.py"
    changed = routes.read_text().replace('return {"status": "ok"}', 'return {"status": "fine"}', 1)
    routes.write_text(changed + OWN_ROUTE)
    own_test = project / "tests" / "unit" / "test_version.py"
    own_test.write_text("def test_own() -> None:\n    assert True\n")
    (project / "Dockerfile").unlink()
    commit_all(project, "Our own changes")

    update(project, releases.next)

    assert TEMPLATE_CHANGE in (project / "README.md").read_text()
    assert 'return {"status": "fine"}' in routes.read_text()
    assert OWN_ROUTE in routes.read_text()
    assert own_test.is_file()
    assert not (project / "Dockerfile").exists()
    assert_no_conflicts(project)


@pytest.mark.parametrize(("before", "after"), [(True, False), (False, True)], ids=["off", "on"])
def test_changing_an_answer_on_update_adds_or_removes_its_files(
    releases: Releases, tmp_path: Path, before: bool, after: bool
) -> None:
    project = copy(releases, tmp_path / "project", releases.current, docker=before)

    update(project, releases.current, docker=after)

    for name in ("Dockerfile", "compose.yaml", ".dockerignore"):
        assert (project / name).is_file() == after, name
    assert f"docker: {str(after).lower()}" in (project / ".copier-answers.yml").read_text()
    assert_no_conflicts(project)


def test_an_update_ends_with_the_steps_it_needs(releases: Releases, tmp_path: Path) -> None:
    project = copy(releases, tmp_path / "project", releases.current)
    command = [sys.executable, "-m", "copier", "update", "--defaults", "--vcs-ref", releases.next]

    result = run(command, project)

    assert "uv run alembic upgrade head" in result.output
    assert "grep -rn '<<<<<<<' ." in result.output
    # What the update removed or left in conflict, and how to get a removed file back.
    assert "git status" in result.output
    assert "git show HEAD:<path>" in result.output
