"""`copier update` and deployed databases: a released revision never changes, and a database
migrated by the previous release keeps its rows through an update, with each answer change
that docs/updating.md supports, and ends with the schema of a fresh render."""

from collections.abc import Callable
from pathlib import Path

import copier
import pytest

from tests.test_update import Releases, assert_no_conflicts, commit_all, copy, releases, update
from tests.variants import MATRIX
from tools.projects import database_url, project_env, query, sync, uv_run

__all__ = ["releases"]  # the fixture, shared with test_update.py

VERSIONS = Path("migrations") / "versions"
SECRET_KEY = "meta-suite-secret-key-of-at-least-32-bytes"

# Writes through the service's own API, as its users would: two users, and a post by one.
WRITE_ROWS = """
import asyncio
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from my_service.main import create_app


async def main() -> None:
    app = create_app()
    transport = ASGITransport(app=app)
    async with LifespanManager(app), AsyncClient(transport=transport, base_url="http://t") as api:
        for email in ("ada@example.com", "grace@example.com"):
            response = await api.post("/api/v1/users", json={"email": email, "full_name": "A"})
            assert response.status_code == 201, response.text
        author = response.json()["id"]
        body = {"author_id": author, "title": "Kept", "body": "Through the update"}
        response = await api.post("/api/v1/posts", json=body)
        assert response.status_code == 201, response.text


asyncio.run(main())
"""

# Reads them back through the updated service: a missing column would answer 500 here. (The
# API shows no email to an anonymous caller: the test reads those from the database.)
READ_ROWS = """
import asyncio
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from my_service.main import create_app


async def main() -> None:
    app = create_app()
    transport = ASGITransport(app=app)
    async with LifespanManager(app), AsyncClient(transport=transport, base_url="http://t") as api:
        users = await api.get("/api/v1/users")
        posts = await api.get("/api/v1/posts")
    assert users.status_code == posts.status_code == 200, (users.text, posts.text)
    print(users.json()["total"], posts.json()["total"])


asyncio.run(main())
"""

SCHEMA_QUERIES = {
    "columns": """
        SELECT table_name, column_name, data_type, character_maximum_length, is_nullable,
               column_default
        FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' ORDER BY 1, 2""",
    "revision": "SELECT version_num FROM alembic_version",
}


def revisions(project: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((project / VERSIONS).glob("*.py"))}


@pytest.fixture(scope="module")
def released(releases: Releases, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The revisions of the previous release's render, with the answers it asked (its defaults)."""
    destination = tmp_path_factory.mktemp("release")
    copier.run_copy(
        str(releases.repo), destination, vcs_ref=releases.previous, defaults=True, quiet=True
    )
    return revisions(destination)


@pytest.mark.parametrize("variant", MATRIX.keys())
def test_released_revisions_never_change(
    released: dict[str, bytes], matrix_projects: Callable[[str], Path], variant: str
) -> None:
    current = revisions(matrix_projects(variant))
    assert released, "the previous release rendered no revision"

    # Any revision file that both render is the same, byte for byte, in every variant.
    changed = [name for name in released.keys() & current.keys() if released[name] != current[name]]
    assert changed == []
    # A service the release generated (today's answers at their defaults) keeps them all.
    answers = MATRIX[variant]
    if answers.get("example_domain", True) and answers.get("auth", "none") == "none":
        assert released.keys() <= current.keys()


def database(env: dict[str, str], project: Path, name: str) -> dict[str, str]:
    """A new, empty database `name`, and the environment that points the service at it."""
    query(project, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", env)
    query(project, f"CREATE DATABASE {name}", env)
    return env | {"DATABASE_URL": database_url(env, name), "SECRET_KEY": SECRET_KEY}


def schema(project: Path, env: dict[str, str], name: str) -> dict[str, list[list[object]]]:
    return {what: query(project, sql, env, database=name) for what, sql in SCHEMA_QUERIES.items()}


@pytest.mark.parametrize("answers", [{}, {"auth": "jwt"}], ids=["same-answers", "auth-jwt"])
def test_a_deployed_database_survives_the_update(
    releases: Releases, tmp_path: Path, answers: dict[str, str]
) -> None:
    project = sync(copy(releases, tmp_path / "deployed", releases.previous))
    env = project_env(database="meta_deployed_test")
    deployed = database(env, project, "meta_deployed")
    uv_run(project, "alembic", "upgrade", "head", env=deployed)
    uv_run(project, "python", "-c", WRITE_ROWS, env=deployed)
    commit_all(project, "Deployed, with the lock file uv wrote")

    update(project, releases.current, **answers)
    assert_no_conflicts(project)
    sync(project)
    uv_run(project, "alembic", "upgrade", "head", env=deployed)

    # The rows are still there, and the updated service reads them.
    read = uv_run(project, "python", "-c", READ_ROWS, env=deployed)
    assert read.tail(1) == "2 1"
    emails = query(project, "SELECT email FROM users ORDER BY 1", env, database="meta_deployed")
    assert emails == [["ada@example.com"], ["grace@example.com"]]
    # The schema is the one a fresh render's migrations build from nothing.
    fresh = copy(releases, tmp_path / "fresh", releases.current, **answers)
    assert revisions(project) == revisions(fresh)
    scratch = database(env, project, "meta_deployed_fresh")
    uv_run(project, "alembic", "upgrade", "head", env=scratch)
    assert schema(project, env, "meta_deployed") == schema(project, env, "meta_deployed_fresh")
    uv_run(project, "alembic", "check", env=deployed)
    # And the updated service's own suite passes.
    uv_run(project, "pytest", "-q", env=env)
