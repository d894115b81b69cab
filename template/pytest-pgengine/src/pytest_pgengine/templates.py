"""The migrated template database, and the clones of it that the tests run on.

The template is migrated once and kept on the server: a run whose migration scripts have not
changed since reuses it, and clones it for each worker (CREATE DATABASE ... TEMPLATE, tens of
milliseconds) instead of migrating a database of its own.
"""

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import URL

from .config import Project
from .janitor import OWN_MARK, Janitor
from .migrating import migrate


def migrations_fingerprint(folder: Path) -> str:
    """A hash of the migration scripts in `folder`: a template migrated from the same scripts
    is reusable."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class TemplateOutdated(Exception):
    """The template must be built, and the caller may not migrate (see ensure_template)."""


async def ensure_template(janitor: Janitor, project: Project, *, may_migrate: bool = True) -> str:
    """The template database migrated by `project`'s migrations, built unless these very
    scripts built it before.

    It is built under a name of this run's and renamed when complete: a run killed while
    migrating leaves no half-built template, only a database of a dead run. Its contents carry
    the suite's mark, which its clones inherit (janitor.py); a template from before that mark
    existed is built again.

    Without `may_migrate`, a template that must be built raises TemplateOutdated instead:
    migrating imports Alembic, which the start's thread must not do (background_start.py).
    """
    name = f"{janitor.base}_template"
    fingerprint = migrations_fingerprint(project.migrations)
    migrated_mark = f"{OWN_MARK}; marked inside; migrations {fingerprint}"
    if await janitor.comment(name) == migrated_mark:
        return name
    if not may_migrate:
        raise TemplateOutdated(name)
    staging = janitor.name_for("template")
    await janitor.drop(staging)
    await janitor.create(staging, template="template0")
    await migrate(project.alembic_ini, janitor.server_url.set(database=staging))
    await janitor.mark_inside(staging)
    await janitor.set_comment(staging, migrated_mark)
    await janitor.drop(name)
    await janitor.rename(staging, name)
    return name


async def clone_template(
    janitor: Janitor, project: Project, role: str, *, may_migrate: bool = True
) -> URL:
    """Create the run's database for `role` as a clone of `project`'s migrated template;
    without `may_migrate`, raise TemplateOutdated where the template must be built first."""
    name = janitor.name_for(role)
    # One run at a time builds and clones the template, on this server: the first worker
    # migrates it, the others wait and reuse it.
    async with janitor.exclusive(f"{janitor.base}_template"):
        template = await ensure_template(janitor, project, may_migrate=may_migrate)
        # CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template.
        await janitor.disconnect_all(template)
        await janitor.create(name, template=template)
    return janitor.server_url.set(database=name)


async def drop_checking_for_leaks(janitor: Janitor, name: str) -> None:
    """Drop the run's database `name`; fail if anything was still connected to it (a leak)."""
    leftovers = await janitor.connections_to(name)
    # Dropping WITH (FORCE) would hide a leak: report it, then clean up.
    await janitor.disconnect_all(name)
    await janitor.drop(name)
    if leftovers:
        pytest.fail(
            f"Connections to {name} were still open at the end of the run:\n" + "\n".join(leftovers)
        )
