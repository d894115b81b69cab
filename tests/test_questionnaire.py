"""Bad answers are refused with the validator's message, before anything is written."""

import sys
from pathlib import Path

import pytest
import yaml

from tools.projects import render, run


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        pytest.param({"project_name": ""}, "The project name must not be empty", id="empty-name"),
        pytest.param({"project_name": "  "}, "The project name must not be empty", id="blank-name"),
        pytest.param(
            {"project_name": 'Say "hi"'}, "must not contain double quotes", id="quoted-name"
        ),
        pytest.param(
            {"project_slug": "My_Service"}, "The project slug must be lowercase", id="bad-slug"
        ),
        pytest.param(
            {"package_name": "1bad"}, "must be a valid lowercase Python identifier", id="digit"
        ),
        pytest.param(
            {"package_name": "my-service"}, "must be a valid lowercase Python identifier", id="dash"
        ),
        pytest.param({"package_name": "class"}, "is a Python keyword", id="keyword"),
        pytest.param(
            {"package_name": "sqlalchemy"}, "would shadow a dependency", id="shadows-dependency"
        ),
        pytest.param({"package_name": "tests"}, "would shadow a dependency", id="shadows-tests"),
        pytest.param(
            {"package_name": "asyncio"}, "would shadow a module of Python's standard", id="stdlib"
        ),
        pytest.param({"description": "two\nlines"}, "must be a single line", id="multiline"),
        pytest.param({"test_shards": 0}, "must be between 1 and 16 (got 0)", id="no-shards"),
        pytest.param({"test_shards": 17}, "must be between 1 and 16 (got 17)", id="many-shards"),
    ],
)
def test_bad_answer_is_refused_and_nothing_written(
    template: Path, tmp_path: Path, answers: dict[str, str | int], message: str
) -> None:
    destination = tmp_path / "out"

    with pytest.raises(ValueError, match="Validation error") as refused:
        render(template, destination, **answers)

    assert message in str(refused.value)
    assert not destination.exists()


def test_bad_answer_on_the_command_line_exits_with_the_message(
    template: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "out"
    command = [sys.executable, "-m", "copier", "copy", "--defaults", "--data"]

    result = run(
        [*command, "package_name=1bad", str(template), str(destination)], tmp_path, check=False
    )

    assert result.returncode != 0
    assert "must be a valid lowercase Python identifier" in result.output
    assert not destination.exists()


def test_answers_file_records_the_answers(template: Path, tmp_path: Path) -> None:
    project = render(template, tmp_path / "out", project_name="Billing API")

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())

    assert answers["project_name"] == "Billing API"
    assert answers["project_slug"] == "billing-api"
    assert answers["package_name"] == "billing_api"
    assert (project / "src" / "billing_api" / "main.py").is_file()


@pytest.mark.parametrize("auth", ["none", "jwt"])
def test_copy_ends_with_the_next_steps(template: Path, tmp_path: Path, auth: str) -> None:
    destination = tmp_path / "out"
    command = [sys.executable, "-m", "copier", "copy", "--defaults", "--data", f"auth={auth}"]

    result = run([*command, str(template), str(destination)], tmp_path)

    assert f"cd {destination}" in result.output
    assert "uv run pytest" in result.output
    assert ("SECRET_KEY" in result.output) == (auth == "jwt")
    # Without authentication, the message says so, and how to add it.
    assert ("Every endpoint is anonymous" in result.output) == (auth == "none")
    assert ("copier update --defaults --data auth=jwt" in result.output) == (auth == "none")
