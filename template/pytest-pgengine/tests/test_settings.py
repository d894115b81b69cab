"""The settings: what a team changes instead of editing the engine."""

from dataclasses import replace
from pathlib import Path

import pytest

from pytest_pgengine import Project
from pytest_pgengine.config import default_database
from pytest_pgengine.server_choice import ServerChoice


def test_the_default_database_is_named_after_the_project_folder() -> None:
    assert default_database(Path("/work/My-Service")) == "my_service_test"
    assert Project.at(Path("/work/my-service")).database == "my_service_test"


def test_a_way_to_a_server_that_does_not_exist_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    project = Project.at(Path.cwd())

    with pytest.raises(pytest.UsageError, match="'sqlite': use one of embedded, docker, system"):
        ServerChoice(replace(project, server="sqlite"))


def test_the_way_a_setting_names_is_the_only_one_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    project = Project.at(Path.cwd())

    choice = ServerChoice(replace(project, server="docker"))

    assert [server.name for server in choice.candidates] == ["docker"]
