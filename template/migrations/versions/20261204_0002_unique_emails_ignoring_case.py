"""Make emails unique without regard to case.

`Ada@example.com` and `ada@example.com` are one mailbox: a unique index on `lower(email)`
replaces the unique constraint on `email`. A database that already holds addresses differing
only by case cannot take the index: the upgrade then stops and changes nothing. Its message says
how many users that is and the ids of the first of them, never an address (it goes to deploy
and CI logs), with the query that lists them. Merge or rename those accounts, and upgrade again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from alembic.util import CommandError

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The users whose email differs only by case from another user's: the first ids, and how many.
SHOWN = 20  # ids in the message, at most: it goes to deploy and CI logs
CASE_DUPLICATES = sa.text(
    "SELECT id, count(*) OVER () FROM users WHERE lower(email) IN"
    " (SELECT lower(email) FROM users GROUP BY 1 HAVING count(*) > 1) ORDER BY id LIMIT :shown"
)
# For the one who merges them, in the message: it names no address itself.
LISTING = (
    "SELECT id, email FROM users WHERE lower(email) IN"
    " (SELECT lower(email) FROM users GROUP BY 1 HAVING count(*) > 1) ORDER BY lower(email), id;"
)


def upgrade() -> None:
    # Checked first, for a message that says how many: the index would name one pair, by their
    # addresses. (A script for a DBA, `alembic upgrade --sql`, has no database to check: there
    # the index refuses.)
    offline = context.is_offline_mode()
    duplicates = [] if offline else op.get_bind().execute(CASE_DUPLICATES, {"shown": SHOWN}).all()
    if duplicates:
        count = duplicates[0][1]
        ids = ", ".join(str(user_id) for user_id, _ in duplicates)
        first = f"the first {SHOWN} by id" if count > SHOWN else "by id"
        raise CommandError(
            f"Emails become unique without regard to case, and the emails of {count} users "
            f"differ only by case from another user's. Their ids ({first}): {ids}. This query "
            f"lists them with their emails:\n  {LISTING}\nMerge or rename those accounts, then "
            "upgrade again. Nothing was changed."
        )
    op.create_index("ix_users_lower_email", "users", [sa.text("lower(email)")], unique=True)
    op.drop_constraint(op.f("uq_users_email"), "users", type_="unique")


def downgrade() -> None:
    op.create_unique_constraint(op.f("uq_users_email"), "users", ["email"])
    op.drop_index("ix_users_lower_email", table_name="users")
