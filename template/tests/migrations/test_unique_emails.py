"""Revision 0002 makes emails unique without regard to case. A deployed database may already
hold two addresses that differ only by case: the upgrade then stops, names them, and changes
nothing, so that nobody's account is merged or renamed behind their back.

The tests upgrade to 0002 itself, as `alembic upgrade 0002` does: a service's own revisions may
branch off 0001 too, and pytest-alembic's step by step upgrade would apply them on the way."""

import pytest
from pytest_alembic import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

USERS = [
    {"email": "Ada@example.com", "full_name": "Ada"},
    {"email": "ada@example.com", "full_name": "Ada again"},
    {"email": "grace@example.com", "full_name": "Grace"},
]

# The message lists each group of emails that differ only by case on a line of its own.
NAMED = r"differ only by case:\n  Ada@example\.com, ada@example\.com\n"


def users_schema(connection: Connection) -> dict[str, object]:
    inspector = inspect(connection)
    return {
        "unique": [unique["name"] for unique in inspector.get_unique_constraints("users")],
        "indexes": [index["name"] for index in inspector.get_indexes("users")],
        "emails": connection.scalars(text("SELECT email FROM users ORDER BY id")).all(),
    }


def test_emails_differing_only_by_case_stop_the_upgrade(alembic_runner: MigrationContext) -> None:
    alembic_runner.migrate_up_to("0001")
    alembic_runner.insert_into("users", USERS)
    before = alembic_runner.connection_executor.run_task(users_schema)

    with pytest.raises(RuntimeError, match=NAMED):  # pytest-alembic's, for alembic's CommandError
        alembic_runner.raw_command("upgrade", "0002")

    assert alembic_runner.current == "0001"
    assert alembic_runner.connection_executor.run_task(users_schema) == before


def test_emails_are_unique_without_regard_to_case(alembic_runner: MigrationContext) -> None:
    alembic_runner.migrate_up_to("0001")
    alembic_runner.insert_into("users", USERS[1:])
    alembic_runner.raw_command("upgrade", "0002")

    with pytest.raises(IntegrityError, match="ix_users_lower_email"):
        alembic_runner.insert_into("users", USERS[0])
