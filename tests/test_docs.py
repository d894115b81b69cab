"""The documentation builds without a broken link, and its how-to works as written."""

import re
from collections.abc import Callable
from pathlib import Path

from tools.projects import REPO_ROOT, database_url, project_env, query, run

FENCED_BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
TITLE = re.compile(r'title="([^"]+)"')


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    run(["mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")], REPO_ROOT)


def test_adding_a_model_works_as_the_how_to_says(render_project: Callable[..., Path]) -> None:
    project = render_project()
    env = project_env(database="meta_howto_test")
    # The how-to's migration step needs a development database at the newest revision.
    query(project, "DROP DATABASE IF EXISTS meta_howto_dev", env)
    query(project, "CREATE DATABASE meta_howto_dev", env)
    env["DATABASE_URL"] = database_url(env, "meta_howto_dev")
    howto = (REPO_ROOT / "docs" / "howto" / "add-a-model.md").read_text()
    steps = FENCED_BLOCK.findall(howto)
    assert [language for language, _, _ in steps].count("diff") >= 1

    try:
        for language, info, body in steps:
            if language == "diff":
                run(
                    ["patch", "-p1", "--forward", "--no-backup-if-mismatch"],
                    project,
                    env=env,
                    input=body,
                )
            elif language == "python":
                title = TITLE.search(info)
                assert title, f"a python block without a file title: {info}"
                (project / title.group(1)).write_text(body)
            elif language == "bash":
                for command in body.strip().splitlines():
                    run(["bash", "-c", command], project, env=env)
    finally:
        query(project, "DROP DATABASE IF EXISTS meta_howto_dev", env)

    assert (project / "tests" / "integration" / "test_tags.py").is_file()
    assert list((project / "migrations" / "versions").glob("*_add_tags.py"))
