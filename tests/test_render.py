"""The rendered files are clean: no template syntax left, every file parses, stable output."""

import ast
import filecmp
import tomllib
from pathlib import Path

import yaml

from tests.helpers import render


def rendered_files(project: Path) -> list[Path]:
    skipped = {".venv", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache", "__pycache__"}
    return [
        path
        for path in sorted(project.rglob("*"))
        if path.is_file() and not skipped & set(path.relative_to(project).parts)
    ]


def test_no_template_syntax_is_left(template: Path, tmp_path: Path) -> None:
    project = render(template, tmp_path / "out")

    for path in rendered_files(project):
        text = path.read_text()
        assert not path.name.endswith(".jinja"), path
        for marker in ("{{", "{%", "{#"):
            assert marker not in text, f"{marker} left in {path}"


def test_every_file_parses(template: Path, tmp_path: Path) -> None:
    project = render(template, tmp_path / "out")

    for path in rendered_files(project):
        if path.suffix == ".py":
            ast.parse(path.read_text(), filename=str(path))
        elif path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix in {".yml", ".yaml"}:
            yaml.safe_load(path.read_text())


def test_rendering_is_deterministic(template: Path, tmp_path: Path) -> None:
    first = render(template, tmp_path / "first")
    second = render(template, tmp_path / "second")

    names = [path.relative_to(first) for path in rendered_files(first)]
    assert names == [path.relative_to(second) for path in rendered_files(second)]
    _, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert (mismatch, errors) == ([], [])
    assert all(b"\r\n" not in (first / name).read_bytes() for name in names)
