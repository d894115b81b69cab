"""Every setting of the engine, read in one place: pytest's ini options (in `[tool.pytest]` of
pyproject.toml) and the environment. The README's "Settings" table lists them all."""

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import pytest

URL_VARIABLE = "TEST_DATABASE_URL"
CHOICE_VARIABLE = "TEST_POSTGRES"
# PostgreSQL's limit is 63 bytes; the engine appends up to 26 ("_migrations_gw15_1a2b3c4d").
MAX_DATABASE_NAME = 37

# name: (help, default); a default of None is worked out from the project (see Project.from_pytest)
INI_OPTIONS = {
    "pgengine_database": (
        "base name of the test databases; must contain 'test' (default: <project folder>_test)",
        None,
    ),
    "pgengine_alembic_ini": ("Alembic's configuration file, from the project root", "alembic.ini"),
    "pgengine_migrations": (
        "the folder of migration scripts that fingerprint the template database",
        "migrations",
    ),
    "pgengine_server": (
        "the only way to get a server to try (embedded, docker, system), as TEST_POSTGRES; "
        "the environment variable wins",
        "",
    ),
}


def add_ini_options(parser: pytest.Parser) -> None:
    for name, (help_text, default) in INI_OPTIONS.items():
        parser.addini(name, help_text, default=default)


def default_database(root: Path) -> str:
    """`<project folder>_test`, as an identifier: "my-service" -> "my_service_test"."""
    stem = re.sub(r"[^a-z0-9]+", "_", root.name.lower()).strip("_") or "project"
    return f"{stem[: MAX_DATABASE_NAME - 5]}_test"


@dataclass(frozen=True)
class Project:
    """What the engine needs to know of the project under test."""

    root: Path
    database: str
    alembic_ini: Path
    migrations: Path
    server: str = ""

    @classmethod
    def at(cls, root: Path, database: str | None = None) -> Self:
        """The project in `root`, with the default settings (dev.py's way in)."""
        root = root.resolve()
        return cls(
            root=root,
            database=database or default_database(root),
            alembic_ini=root / "alembic.ini",
            migrations=root / "migrations",
        )

    @classmethod
    def from_pytest(cls, config: pytest.Config) -> Self:
        root = config.rootpath

        def ini(name: str) -> str:
            value = config.getini(name)
            return str(value).strip() if value is not None else ""

        database = ini("pgengine_database") or default_database(root)
        if "test" not in database or len(database) > MAX_DATABASE_NAME:
            raise pytest.UsageError(
                f"pgengine_database is {database!r}: the name must contain 'test' and have at "
                f"most {MAX_DATABASE_NAME} characters (the engine names its databases after it)."
            )
        return cls(
            root=root,
            database=database,
            alembic_ini=root / ini("pgengine_alembic_ini"),
            migrations=root / ini("pgengine_migrations"),
            server=os.environ.get(CHOICE_VARIABLE) or ini("pgengine_server"),
        )
