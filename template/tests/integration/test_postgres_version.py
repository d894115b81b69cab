"""The server the tests run on has the PostgreSQL major of production: the one the container
image names (compose.yaml, CI's service) and the embedded server is.

On a server the project provides (TEST_DATABASE_URL) of another major, the test only warns
(PostgresMajorWarning, shown in the summary): a query may then behave as it will not in
production.
"""

from pytest_pgengine import Project, check_server_major
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def test_the_server_has_productions_major(
    db_session: AsyncSession, pgengine_project: Project
) -> None:
    version = await db_session.scalar(text("SHOW server_version_num"))

    check_server_major(int(version), pgengine_project)
