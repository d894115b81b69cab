"""Publish the releases that CHANGELOG.md records and that have no tag yet.

A release is an entry `## vX.Y.Z (YYYY-MM-DD, commit <40 hex digits>)`: its tag goes on the
commit it names (an earlier commit of main, whose template is the release), and its GitHub
release carries the entry's text and, from v0.2.0 on, the test engine's sdist and wheel built
from that commit. The release workflow (.github/workflows/release.yml) runs this after the meta
suite passed on main; `--dry-run` prints what it would publish and publishes nothing.

Standard library only: the workflow runs it before any environment is synced.
"""

import argparse
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ENGINE = "template/pytest-pgengine"
# "## v0.1.0 (2026-11-22, commit <40 hex digits>)"
ENTRY = re.compile(
    r"^## (?P<version>v\d+\.\d+\.\d+)"
    r" \((?P<date>\d{4}-\d{2}-\d{2}), commit (?P<commit>[0-9a-f]{40})\)$"
)


@dataclass(frozen=True)
class Release:
    version: str
    date: str
    commit: str
    notes: str

    @property
    def number(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.removeprefix("v").split("."))


def releases(changelog: str) -> list[Release]:
    """The releases of a CHANGELOG.md, newest first (the "Unreleased" section is none)."""
    found: list[Release] = []
    heading: re.Match[str] | None = None
    lines: list[str] = []
    for line in [*changelog.splitlines(), "## end"]:
        if not line.startswith("## "):
            lines.append(line)
            continue
        if heading:
            notes = "\n".join(lines).strip() + "\n"
            found.append(Release(heading["version"], heading["date"], heading["commit"], notes))
        heading, lines = ENTRY.match(line), []
    numbers = [release.number for release in found]
    if numbers != sorted(numbers, reverse=True) or len(set(numbers)) != len(numbers):
        raise SystemExit("CHANGELOG.md: releases must be listed newest first, each once")
    return found


def git(*args: str, repo: Path = REPO_ROOT, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, check=check, capture_output=True, text=True)


def is_tagged(release: Release, repo: Path = REPO_ROOT) -> bool:
    return (
        git(
            "rev-parse",
            "--quiet",
            "--verify",
            f"refs/tags/{release.version}",
            repo=repo,
            check=False,
        ).returncode
        == 0
    )


def unpublished(repo: Path = REPO_ROOT) -> list[Release]:
    """The releases without a tag, oldest first; each must name a commit of the current
    branch's history."""
    pending = [r for r in releases((repo / "CHANGELOG.md").read_text()) if not is_tagged(r, repo)]
    for release in pending:
        if git(
            "merge-base", "--is-ancestor", release.commit, "HEAD", repo=repo, check=False
        ).returncode:
            raise SystemExit(
                f"{release.version}: commit {release.commit} is not in this branch's history"
            )
    return pending[::-1]


def build_engine(release: Release, workspace: Path, repo: Path = REPO_ROOT) -> list[Path]:
    """The engine's sdist and wheel as the release's commit has it (none before it existed)."""
    checkout = workspace / "checkout"
    git("worktree", "add", "--detach", "--quiet", str(checkout), release.commit, repo=repo)
    try:
        if not (checkout / ENGINE).is_dir():
            return []
        dist = workspace / "dist"
        subprocess.run(
            ["uv", "build", "--quiet", "--out-dir", str(dist), str(checkout / ENGINE)], check=True
        )
        # Only the packages: uv also leaves a .gitignore in the folder it builds into.
        return sorted([*dist.glob("*.tar.gz"), *dist.glob("*.whl")])
    finally:
        git("worktree", "remove", "--force", str(checkout), repo=repo)


def publish(release: Release, dry_run: bool) -> None:
    with tempfile.TemporaryDirectory() as workspace:
        assets = build_engine(release, Path(workspace))
        notes = Path(workspace) / "notes.md"
        notes.write_text(release.notes)
        command = [
            "gh", "release", "create", release.version, *map(str, assets),
            "--target", release.commit, "--title", f"{release.version} ({release.date})",
            "--notes-file", str(notes),
        ]  # fmt: skip
        print(f"{release.version}: tag {release.commit}, attach {[a.name for a in assets]}")
        if not dry_run:
            subprocess.run(command, check=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print, publish nothing")
    arguments = parser.parse_args(argv)
    pending = unpublished()
    if not pending:
        print("Every release in CHANGELOG.md has its tag: nothing to publish.")
    for release in pending:
        publish(release, arguments.dry_run)


if __name__ == "__main__":
    main()
