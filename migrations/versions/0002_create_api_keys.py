"""Create the API keys table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "phones_api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["phones_clients.id"],
            name=op.f("fk_phones_api_keys_client_id_phones_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phones_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_phones_api_keys_key_hash")),
        sa.UniqueConstraint("prefix", name=op.f("uq_phones_api_keys_prefix")),
    )
    op.create_index(
        op.f("ix_phones_api_keys_client_id"), "phones_api_keys", ["client_id"]
    )


def downgrade():
    op.drop_index(op.f("ix_phones_api_keys_client_id"), table_name="phones_api_keys")
    op.drop_table("phones_api_keys")
