"""Add the substring search index and per-client status counts.

SQLite gets an FTS5 table with the trigram tokenizer over name and number,
PostgreSQL gets pg_trgm GIN indexes. Both get `phones_status_counts`, kept
in step by triggers, so that a list's total costs one row read instead of
a count over every phone of the client.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQLITE_UPGRADE = [
    """
    CREATE VIRTUAL TABLE phones_numbers_search USING fts5(
        name, number,
        content='phones_numbers', content_rowid='id',
        tokenize='trigram case_sensitive 0'
    )
    """,
    "INSERT INTO phones_numbers_search(phones_numbers_search) VALUES ('rebuild')",
    """
    CREATE TRIGGER phones_numbers_search_insert AFTER INSERT ON phones_numbers BEGIN
        INSERT INTO phones_numbers_search(rowid, name, number)
        VALUES (new.id, new.name, new.number);
    END
    """,
    """
    CREATE TRIGGER phones_numbers_search_delete AFTER DELETE ON phones_numbers BEGIN
        INSERT INTO phones_numbers_search(phones_numbers_search, rowid, name, number)
        VALUES ('delete', old.id, old.name, old.number);
    END
    """,
    """
    CREATE TRIGGER phones_numbers_search_update
    AFTER UPDATE OF name, number ON phones_numbers BEGIN
        INSERT INTO phones_numbers_search(phones_numbers_search, rowid, name, number)
        VALUES ('delete', old.id, old.name, old.number);
        INSERT INTO phones_numbers_search(rowid, name, number)
        VALUES (new.id, new.name, new.number);
    END
    """,
    """
    CREATE TRIGGER phones_status_counts_insert AFTER INSERT ON phones_numbers BEGIN
        INSERT INTO phones_status_counts(client_id, status, count)
        VALUES (new.client_id, new.status, 1)
        ON CONFLICT(client_id, status) DO UPDATE SET count = count + 1;
    END
    """,
    """
    CREATE TRIGGER phones_status_counts_delete AFTER DELETE ON phones_numbers BEGIN
        UPDATE phones_status_counts SET count = count - 1
        WHERE client_id = old.client_id AND status = old.status;
    END
    """,
    """
    CREATE TRIGGER phones_status_counts_update
    AFTER UPDATE OF status, client_id ON phones_numbers
    WHEN old.status IS NOT new.status OR old.client_id IS NOT new.client_id BEGIN
        UPDATE phones_status_counts SET count = count - 1
        WHERE client_id = old.client_id AND status = old.status;
        INSERT INTO phones_status_counts(client_id, status, count)
        VALUES (new.client_id, new.status, 1)
        ON CONFLICT(client_id, status) DO UPDATE SET count = count + 1;
    END
    """,
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER phones_status_counts_update",
    "DROP TRIGGER phones_status_counts_delete",
    "DROP TRIGGER phones_status_counts_insert",
    "DROP TRIGGER phones_numbers_search_update",
    "DROP TRIGGER phones_numbers_search_delete",
    "DROP TRIGGER phones_numbers_search_insert",
    "DROP TABLE phones_numbers_search",
]

POSTGRESQL_UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    CREATE INDEX ix_phones_numbers_name_trgm
    ON phones_numbers USING gin (lower(name) gin_trgm_ops)
    """,
    """
    CREATE INDEX ix_phones_numbers_number_trgm
    ON phones_numbers USING gin (number gin_trgm_ops)
    """,
    """
    CREATE FUNCTION phones_status_counts_change() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            UPDATE phones_status_counts SET count = count - 1
            WHERE client_id = OLD.client_id AND status = OLD.status;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO phones_status_counts AS counts (client_id, status, count)
            VALUES (NEW.client_id, NEW.status, 1)
            ON CONFLICT (client_id, status)
            DO UPDATE SET count = counts.count + 1;
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER phones_status_counts_insert_delete
    AFTER INSERT OR DELETE ON phones_numbers
    FOR EACH ROW EXECUTE FUNCTION phones_status_counts_change()
    """,
    """
    CREATE TRIGGER phones_status_counts_update
    AFTER UPDATE OF status, client_id ON phones_numbers
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.client_id IS DISTINCT FROM NEW.client_id)
    EXECUTE FUNCTION phones_status_counts_change()
    """,
]

POSTGRESQL_DOWNGRADE = [
    "DROP TRIGGER phones_status_counts_update ON phones_numbers",
    "DROP TRIGGER phones_status_counts_insert_delete ON phones_numbers",
    "DROP FUNCTION phones_status_counts_change()",
    "DROP INDEX ix_phones_numbers_number_trgm",
    "DROP INDEX ix_phones_numbers_name_trgm",
]


def upgrade():
    op.create_table(
        "phones_status_counts",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["phones_clients.id"],
            name=op.f("fk_phones_status_counts_client_id_phones_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "client_id", "status", name=op.f("pk_phones_status_counts")
        ),
    )
    op.execute(
        """
        INSERT INTO phones_status_counts (client_id, status, count)
        SELECT client_id, status, count(*) FROM phones_numbers
        GROUP BY client_id, status
        """
    )
    for statement in _statements(sqlite=SQLITE_UPGRADE, postgresql=POSTGRESQL_UPGRADE):
        op.execute(statement)


def downgrade():
    for statement in _statements(
        sqlite=SQLITE_DOWNGRADE, postgresql=POSTGRESQL_DOWNGRADE
    ):
        op.execute(statement)
    op.drop_table("phones_status_counts")


def _statements(sqlite, postgresql):
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite
    if dialect == "postgresql":
        return postgresql
    raise NotImplementedError(f"no search index for the {dialect} dialect")
