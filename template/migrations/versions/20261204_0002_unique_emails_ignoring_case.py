"""Make emails unique without regard to case.

`Ada@example.com` and `ada@example.com` are one mailbox: a unique index on `lower(email)`
replaces the unique constraint on `email`. A database that already holds addresses differing
only by case cannot take the index: the upgrade then stops, lists them and changes nothing.
Merge or rename those accounts, and upgrade again.

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

CASE_DUPLICATES = sa.text(
    "SELECT string_agg(email, ', ' ORDER BY email) FROM users"
    " GROUP BY lower(email) HAVING count(*) > 1 ORDER BY 1"
)


def upgrade() -> None:
    # Checked first, for a message that names them all: the index would name one pair. (A script
    # for a DBA, `alembic upgrade --sql`, has no database to check: there the index refuses.)
    duplicates = [] if context.is_offline_mode() else op.get_bind().scalars(CASE_DUPLICATES).all()
    if duplicates:
        listed = "\n".join(f"  {emails}" for emails in duplicates)
        raise CommandError(
            "Emails become unique without regard to case, and these users' emails differ only "
            f"by case:\n{listed}\nMerge or rename those accounts, then upgrade again. Nothing "
            "was changed."
        )
    op.create_index("ix_users_lower_email", "users", [sa.text("lower(email)")], unique=True)
    op.drop_constraint(op.f("uq_users_email"), "users", type_="unique")


def downgrade() -> None:
    op.create_unique_constraint(op.f("uq_users_email"), "users", ["email"])
    op.drop_index("ix_users_lower_email", table_name="users")
