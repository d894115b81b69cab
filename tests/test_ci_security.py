"""CI that a security review signs off: zizmor finds nothing in the template's own workflows nor
in any rendered GitHub variant, every action is pinned to a full commit SHA with its version in a
comment, dependency updates wait for releases to age (Dependabot's cooldown, Renovate's minimum
release age), and GitLab's images name their versions."""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.variants import MATRIX
from tools.projects import REPO_ROOT, run

ZIZMOR_VERSION = "1.32.0"  # the pin of the dev group, of the generated CI and pre-commit hook
MINIMUM_AGE_DAYS = 7

GITHUB = {
    name: answers for name, answers in MATRIX.items() if answers.get("ci", "github") == "github"
}
GITLAB = {name: answers for name, answers in MATRIX.items() if answers.get("ci") == "gitlab"}
RENOVATE = {
    name: answers for name, answers in MATRIX.items() if answers.get("ci") in {"gitlab", "none"}
}

# `uses: owner/repo[/path]@<full commit SHA> # vX.Y.Z`, the form Dependabot keeps up to date.
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<reference>\S+)(?P<comment>.*)$")
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<sha>[0-9a-f]{40})$")
VERSION_COMMENT = re.compile(r"^\s+# (?P<version>v\d+\.\d+\.\d+)$")
IGNORE_COMMENT = re.compile(r"#\s*zizmor:\s*ignore\[[^\]]*\](?P<rest>.*)$")
# An image's tag starts with a version number (`17-alpine`, `0.9-python3.12-bookworm-slim`).
IMAGE = re.compile(r"^(?P<name>[^:@\s]+)(?::(?P<tag>[^@\s]+))?(?:@sha256:[0-9a-f]{64})?$")
VERSION_TAG = re.compile(r"^\d+(\.\d+)*([-.].*)?$")
AGE = re.compile(r"^(?P<count>\d+) (?P<unit>day|days|week|weeks)$")

Pins = dict[str, set[str]]  # action -> the "sha # version" it is pinned to


def describe(finding: dict[str, Any]) -> str:
    """`audit: file:line annotation` of a finding of zizmor's JSON output."""
    places = []
    for location in finding["locations"]:
        if location["symbolic"].get("kind") == "Primary":
            path = location["symbolic"].get("key", {}).get("Local", {}).get("verbatim_path")
            row = location.get("concrete", {}).get("location", {}).get("start_point", {}).get("row")
            line = "?" if row is None else row + 1
            places.append(f"{path}:{line} {location['symbolic'].get('annotation', '')}")
    return f"{finding['ident']}: {'; '.join(places)}"


def zizmor_findings(target: Path) -> list[str]:
    """zizmor's findings at its default persona, offline, on what CI audits (`zizmor .`)."""
    # Quiet: its log (warnings aside) would come before the JSON in the output.
    command = ["zizmor", "--offline", "--no-progress", "--quiet", "--format", "json", "."]
    result = run(command, target, check=False)  # it exits non-zero when it finds something
    try:
        findings = json.loads(result.output)
    except json.JSONDecodeError:
        raise AssertionError(f"zizmor exited {result.returncode}:\n{result.tail()}") from None
    return [describe(finding) for finding in findings]


def github_files(project: Path) -> list[Path]:
    github = project / ".github"
    return sorted([*github.glob("workflows/*.yml"), *github.glob("workflows/*.yaml")]) + sorted(
        github.glob("dependabot.y*ml")
    )


def check_pins(workflow: Path, pins: Pins) -> None:
    """Every `uses:` is pinned to a commit with its version alongside; record the pins."""
    steps = [
        entry
        for job in yaml.safe_load(workflow.read_text())["jobs"].values()
        for entry in [job, *job.get("steps", [])]
        if "uses" in entry
    ]
    lines = [
        match for line in workflow.read_text().splitlines() if (match := USES_LINE.match(line))
    ]
    assert len(lines) == len(steps), f"{workflow}: a `uses:` the line check does not see"
    for line in lines:
        if line["reference"].startswith("./"):
            continue  # a workflow of the same repository runs at the caller's commit
        pinned = PINNED.match(line["reference"])
        assert pinned, f"{workflow}: {line['reference']} is not pinned to a full commit SHA"
        version = VERSION_COMMENT.match(line["comment"])
        assert version, f"{workflow}: {line['reference']} has no `# vX.Y.Z` comment"
        pins.setdefault(pinned["action"], set()).add(f"{pinned['sha']}{line['comment']}")


def check_ignore_comments(path: Path) -> None:
    """zizmor may be told to ignore a finding only with the reason next to the directive."""
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines):
        if ignore := IGNORE_COMMENT.search(line):
            above = lines[number - 1].strip() if number else ""
            reason = ignore["rest"].strip(" -:()") or (above.startswith("#") and above)
            assert reason, f"{path}:{number + 1}: a zizmor ignore without its reason"


def check_github_security(project: Path, pins: Pins) -> None:
    findings = zizmor_findings(project)
    assert not findings, "\n".join(findings)
    files = github_files(project)
    assert any(path.parent.name == "workflows" for path in files), files
    for path in files:
        check_ignore_comments(path)
        if path.parent.name == "workflows":
            check_pins(path, pins)


def days(value: Any) -> int:
    assert isinstance(value, int), value
    return value


@pytest.fixture(scope="module")
def own_pins() -> Pins:
    """The pins of the template's own workflows (which its own test checks)."""
    pins: Pins = {}
    for workflow in github_files(REPO_ROOT):
        for line in workflow.read_text().splitlines():
            if (uses := USES_LINE.match(line)) and (pinned := PINNED.match(uses["reference"])):
                pins.setdefault(pinned["action"], set()).add(f"{pinned['sha']}{uses['comment']}")
    return pins


def test_the_templates_own_workflows_pass_zizmor_and_pin_every_action() -> None:
    pins: Pins = {}

    check_github_security(REPO_ROOT, pins)

    # One version of each action throughout (the rendered ones are held to it below).
    assert all(len(versions) == 1 for versions in pins.values()), pins
    # CI runs the audit too, with the meta suite's zizmor.
    workflow = (REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "uv run zizmor --offline ." in workflow


@pytest.mark.parametrize("variant", GITHUB)
def test_rendered_github_ci_passes_zizmor_and_pins_every_action(
    matrix_projects: Callable[[str], Path], own_pins: Pins, variant: str
) -> None:
    project = matrix_projects(variant)
    pins: Pins = {}

    check_github_security(project, pins)

    # The same pins as the template's own workflows, where they use the same action.
    for action, versions in pins.items():
        assert len(versions) == 1, f"{action}: {versions}"
        assert versions == own_pins.get(action, versions), f"{action}: {versions} != {own_pins}"
    # Dependabot moves those pins (github-actions), and waits a week for every release.
    config = yaml.safe_load((project / ".github" / "dependabot.yml").read_text())
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    expected = {"uv", "github-actions"} | ({"docker"} if recorded["docker"] else set())
    ecosystems = {update["package-ecosystem"]: update for update in config["updates"]}
    assert set(ecosystems) == expected
    for name, update in ecosystems.items():
        cooldown = update.get("cooldown", {})
        assert days(cooldown.get("default-days")) >= MINIMUM_AGE_DAYS, name
        for key, value in cooldown.items():
            if key.endswith("-days"):
                assert days(value) >= MINIMUM_AGE_DAYS, f"{name}: {key}"
    # CI and the pre-commit hook run the zizmor the meta suite checks with.
    workflow = (project / ".github" / "workflows" / "ci.yml").read_text()
    hooks = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    entries = [hook["entry"] for repo in hooks["repos"] for hook in repo["hooks"]]
    assert f"uvx zizmor=={ZIZMOR_VERSION} --offline ." in workflow
    assert f"uvx zizmor=={ZIZMOR_VERSION} --offline" in entries


def test_zizmor_of_the_meta_suite_is_the_pinned_one() -> None:
    result = run(["zizmor", "--version"], REPO_ROOT)
    assert result.output.split() == ["zizmor", ZIZMOR_VERSION]


@pytest.mark.parametrize("variant", RENOVATE)
def test_renovate_waits_a_week_for_every_release(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    project = matrix_projects(variant)

    config = json.loads((project / "renovate.json").read_text())
    age = AGE.match(config.get("minimumReleaseAge") or "")
    assert age, f"renovate.json: minimumReleaseAge is {config.get('minimumReleaseAge')!r}"
    weeks = age["unit"].startswith("week")
    assert int(age["count"]) * (7 if weeks else 1) >= MINIMUM_AGE_DAYS
    # Nothing of zizmor where there are no GitHub workflows to audit.
    assert not (project / ".github").exists()
    assert "zizmor" not in (project / ".pre-commit-config.yaml").read_text()


@pytest.mark.parametrize("variant", GITLAB)
def test_gitlab_images_name_their_versions(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    project = matrix_projects(variant)

    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    images = []
    for job in pipeline.values():
        if not isinstance(job, dict):
            continue
        if "image" in job:
            images.append(job["image"]["name"] if isinstance(job["image"], dict) else job["image"])
        for service in job.get("services", []):
            images.append(service["name"] if isinstance(service, dict) else service)
    assert len(images) >= 3, images
    for image in images:
        reference = IMAGE.match(image)
        assert reference, image
        tag = reference["tag"] or ""
        assert "latest" not in tag, image
        assert "@sha256:" in image or VERSION_TAG.match(tag), f"{image}: no version in its tag"
