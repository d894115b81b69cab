"""A real PostgreSQL for pytest, with nothing to set up: a server found or started for the run,
the project's migrations applied once into a template database, a clone of it for each
pytest-xdist worker, and each test inside a transaction that is rolled back, even when the code
under test commits. The README is the reference.

The pytest plugin (`pgengine`, plugin.py) provides the fixtures; the names here are for code
that needs the engine outside them: a dev command, fixtures of a project's own.

They are imported when first used: importing this package stays cheap, so that the plugin,
which lives in it, can pause the garbage collector before anything else is imported.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # "import x as x": each name is re-exported, for mypy --strict
    from .config import Project as Project
    from .connections import admin_connection as admin_connection
    from .development import development_database as development_database
    from .fixtures import NewDatabase as NewDatabase
    from .janitor import DropRefused as DropRefused
    from .janitor import Janitor as Janitor
    from .migrating import alembic_config as alembic_config
    from .migrating import migrate as migrate
    from .servers import ServerUnavailable as ServerUnavailable
    from .templates import clone_template as clone_template
    from .templates import drop_checking_for_leaks as drop_checking_for_leaks
    from .templates import migrations_fingerprint as migrations_fingerprint
    from .versions import POSTGRES_MAJOR as POSTGRES_MAJOR
    from .versions import PostgresMajorWarning as PostgresMajorWarning
    from .versions import check_server_major as check_server_major

# Each public name, and the module that defines it.
_MODULES = {
    "DropRefused": "janitor",
    "Janitor": "janitor",
    "NewDatabase": "fixtures",
    "POSTGRES_MAJOR": "versions",
    "PostgresMajorWarning": "versions",
    "Project": "config",
    "ServerUnavailable": "servers",
    "admin_connection": "connections",
    "alembic_config": "migrating",
    "check_server_major": "versions",
    "clone_template": "templates",
    "development_database": "development",
    "drop_checking_for_leaks": "templates",
    "migrate": "migrating",
    "migrations_fingerprint": "templates",
}
__all__ = sorted(_MODULES)

if not TYPE_CHECKING:  # for mypy, an unknown name stays an error

    def __getattr__(name: str) -> Any:
        if name not in _MODULES:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        return getattr(import_module(f".{_MODULES[name]}", __name__), name)
