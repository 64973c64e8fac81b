"""Create the host's users table.

Revision ID: h001
Revises:
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = "h001"
down_revision = None
branch_labels = ("host",)
depends_on = None


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("phones_client_uuid", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )


def downgrade():
    op.drop_table("users")
