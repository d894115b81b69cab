"""Revision 0002 makes emails unique without regard to case. A deployed database may already
hold two addresses that differ only by case: the upgrade then stops and changes nothing, so that
nobody's account is merged or renamed behind their back. Its message goes to deploy and CI logs:
it says how many users and which ids (the first twenty), never an address.

The tests upgrade to 0002 itself, as `alembic upgrade 0002` does: a service's own revisions may
branch off 0001 too, and pytest-alembic's step by step upgrade would apply them on the way."""

from functools import partial

import pytest
from pytest_alembic import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

USERS = [
    {"email": "Ada@example.com", "full_name": "Ada"},
    {"email": "ada@example.com", "full_name": "Ada again"},
    {"email": "grace@example.com", "full_name": "Grace"},
]

# A larger table: 25 pairs of emails that differ only by case, and one that does not.
MANY = [
    {"email": f"{name}{number}@example.com", "full_name": f"User {number}"}
    for number in range(25)
    for name in ("User", "user")
] + [{"email": "grace@example.com", "full_name": "Grace"}]


def users_schema(connection: Connection) -> dict[str, object]:
    inspector = inspect(connection)
    return {
        "unique": [unique["name"] for unique in inspector.get_unique_constraints("users")],
        "indexes": [index["name"] for index in inspector.get_indexes("users")],
        "emails": connection.scalars(text("SELECT email FROM users ORDER BY id")).all(),
    }


def ids_of(connection: Connection, pattern: str) -> list[int]:
    query = text("SELECT id FROM users WHERE email ILIKE :pattern ORDER BY id")
    return list(connection.scalars(query, {"pattern": pattern}))


def refusal(alembic_runner: MigrationContext) -> str:
    """The message of the upgrade to 0002, which must refuse and change nothing."""
    before = alembic_runner.connection_executor.run_task(users_schema)

    with pytest.raises(RuntimeError) as refused:  # pytest-alembic's, for alembic's CommandError
        alembic_runner.raw_command("upgrade", "0002")

    assert alembic_runner.current == "0001"
    assert alembic_runner.connection_executor.run_task(users_schema) == before
    return str(refused.value)


def test_emails_differing_only_by_case_stop_the_upgrade(alembic_runner: MigrationContext) -> None:
    alembic_runner.migrate_up_to("0001")
    alembic_runner.insert_into("users", USERS)
    ids = alembic_runner.connection_executor.run_task(partial(ids_of, pattern="ada@example.com"))

    message = refusal(alembic_runner)

    assert "the emails of 2 users differ only by case" in message, message
    assert f"Their ids (by id): {ids[0]}, {ids[1]}." in message, message
    # No address, nor any part of one, in the log.
    assert "@" not in message, message
    assert "ada" not in message.lower(), message
    assert "example" not in message, message


def test_the_refusal_lists_twenty_ids_at_most(alembic_runner: MigrationContext) -> None:
    alembic_runner.migrate_up_to("0001")
    alembic_runner.insert_into("users", MANY)
    ids = alembic_runner.connection_executor.run_task(partial(ids_of, pattern="user%"))

    message = refusal(alembic_runner)

    assert "the emails of 50 users differ only by case" in message, message
    shown = ", ".join(map(str, ids[:20]))
    assert f"Their ids (the first 20 by id): {shown}." in message, message
    assert str(ids[20]) not in message.replace(shown, ""), message
    assert "@" not in message, message


def test_emails_are_unique_without_regard_to_case(alembic_runner: MigrationContext) -> None:
    alembic_runner.migrate_up_to("0001")
    alembic_runner.insert_into("users", USERS[1:])
    alembic_runner.raw_command("upgrade", "0002")

    with pytest.raises(IntegrityError, match="ix_users_lower_email"):
        alembic_runner.insert_into("users", USERS[0])
