"""Index phones by client alone, for counting search matches.

Every SQLite index ends with the rowid, so an index on `client_id` alone
answers "is phone N the client's?" from the index, without reading the
phone's row. A search that matches 50,000 of a client's phones counts them
this way. PostgreSQL gets the same index, which also serves the foreign
key when a client is deleted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        op.f("ix_phones_numbers_client_id"), "phones_numbers", ["client_id"]
    )


def downgrade():
    op.drop_index(op.f("ix_phones_numbers_client_id"), table_name="phones_numbers")
