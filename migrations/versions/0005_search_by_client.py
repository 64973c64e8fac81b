"""Split the SQLite search index by client, and index names once each.

The FTS5 table of 0003 held every phone of every client, so a search
found all clients' matches and then checked, match by match, which were
the searching client's: 90 ms for a name that 50,000 of a million phones
share. This revision replaces it with two indexes that a search reads
only within one client's part:

- `phones_search_numbers`: a contentless FTS5 trigram table over numbers.
  Its rowid packs the client, the status and the phone id, so the rowids
  of one client (or of one client's phones in one status) form one range.
- `phones_search_names`: one row per client, status and name, with how
  many phones bear it, and `phones_search_names_index` over those names.
  Teams give the same name to many lines, so a name search reads each
  distinct name once and sums the counts, and the total needs no count
  over the phones.

`phones_search_by_name` finds the phones of a few matching names, newest
first, without walking all the client's phones.

PostgreSQL keeps its pg_trgm indexes. On both databases the index on
`client_id` alone, which 0004 added for counting matches the old way, goes:
the index on (client_id, created_at, uuid) serves every lookup by client.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Layout of a `phones_search_numbers` rowid, from the high bits down:
# client id (21 bits), status (2 bits), phone id (40 bits). The same layout
# is in phones_service/phones/search.py. A `phones_search_names` id is the
# client id shifted by PHONE_BITS plus a counter.
PHONE_BITS = 40
STATUS_BITS = 2
CLIENT_LIMIT = 1 << (63 - PHONE_BITS - STATUS_BITS)
PHONE_LIMIT = 1 << PHONE_BITS


def _key(row: str) -> str:
    """SQL for the `phones_search_numbers` rowid of trigger row `row`."""
    return (
        f"(({row}.client_id << {PHONE_BITS + STATUS_BITS})"
        f" | ((CASE {row}.status WHEN 'active' THEN 0 WHEN 'pending' THEN 1"
        f" WHEN 'inactive' THEN 2 END) << {PHONE_BITS})"
        f" | {row}.id)"
    )


def _check(row: str) -> str:
    # An id beyond the layout would share a rowid with another phone.
    return f"""
        SELECT RAISE(ABORT, 'phone or client id too large for the search index')
        WHERE {row}.id >= {PHONE_LIMIT} OR {row}.client_id >= {CLIENT_LIMIT}
            OR {row}.status NOT IN ('active', 'pending', 'inactive');
    """


def _add_number(row: str) -> str:
    return f"""
        INSERT INTO phones_search_numbers(rowid, number)
        VALUES ({_key(row)}, {row}.number);
    """


def _remove_number(row: str) -> str:
    return f"""
        INSERT INTO phones_search_numbers(phones_search_numbers, rowid, number)
        VALUES ('delete', {_key(row)}, {row}.number);
    """


def _add_name(row: str) -> str:
    # A new name takes the next id in its client's range.
    return f"""
        INSERT INTO phones_search_names(id, client_id, status, name, phones)
        SELECT coalesce(last, {row}.client_id << {PHONE_BITS}) + 1,
               {row}.client_id, {row}.status, {row}.name, 1
        FROM (
            SELECT max(id) AS last FROM phones_search_names
            WHERE id BETWEEN {row}.client_id << {PHONE_BITS}
                AND ({row}.client_id << {PHONE_BITS}) + {PHONE_LIMIT - 1}
        )
        WHERE {row}.name IS NOT NULL
        ON CONFLICT(client_id, status, name) DO UPDATE SET phones = phones + 1;
    """


def _remove_name(row: str) -> str:
    condition = (
        f"client_id = {row}.client_id AND status = {row}.status AND name = {row}.name"
    )
    return f"""
        UPDATE phones_search_names SET phones = phones - 1 WHERE {condition};
        DELETE FROM phones_search_names WHERE {condition} AND phones = 0;
    """


SQLITE_UPGRADE = [
    "DROP TRIGGER phones_numbers_search_update",
    "DROP TRIGGER phones_numbers_search_delete",
    "DROP TRIGGER phones_numbers_search_insert",
    "DROP TABLE phones_numbers_search",
    """
    CREATE VIRTUAL TABLE phones_search_numbers USING fts5(
        number, content='', tokenize='trigram case_sensitive 0'
    )
    """,
    """
    CREATE TABLE phones_search_names (
        id INTEGER PRIMARY KEY,
        client_id INTEGER NOT NULL
            REFERENCES phones_clients(id) ON DELETE CASCADE,
        status VARCHAR(16) NOT NULL,
        name VARCHAR(255) NOT NULL,
        phones INTEGER NOT NULL,
        UNIQUE (client_id, status, name)
    )
    """,
    """
    CREATE VIRTUAL TABLE phones_search_names_index USING fts5(
        name, content='phones_search_names', content_rowid='id',
        tokenize='trigram case_sensitive 0'
    )
    """,
    """
    CREATE TRIGGER phones_search_names_insert AFTER INSERT ON phones_search_names
    BEGIN
        INSERT INTO phones_search_names_index(rowid, name) VALUES (new.id, new.name);
    END
    """,
    """
    CREATE TRIGGER phones_search_names_delete AFTER DELETE ON phones_search_names
    BEGIN
        INSERT INTO phones_search_names_index(phones_search_names_index, rowid, name)
        VALUES ('delete', old.id, old.name);
    END
    """,
    "CREATE INDEX phones_search_by_name ON phones_numbers (client_id, name)",
    f"""
    CREATE TRIGGER phones_search_insert AFTER INSERT ON phones_numbers BEGIN
        {_check("new")}
        {_add_number("new")}
        {_add_name("new")}
    END
    """,
    f"""
    CREATE TRIGGER phones_search_delete AFTER DELETE ON phones_numbers BEGIN
        {_remove_number("old")}
        {_remove_name("old")}
    END
    """,
    # A rename leaves the numbers index alone, and a new number the names.
    f"""
    CREATE TRIGGER phones_search_renumber
    AFTER UPDATE OF number, status, client_id ON phones_numbers
    WHEN old.number IS NOT new.number OR old.status IS NOT new.status
        OR old.client_id IS NOT new.client_id
    BEGIN
        {_check("new")}
        {_remove_number("old")}
        {_add_number("new")}
    END
    """,
    f"""
    CREATE TRIGGER phones_search_rename
    AFTER UPDATE OF name, status, client_id ON phones_numbers
    WHEN old.name IS NOT new.name OR old.status IS NOT new.status
        OR old.client_id IS NOT new.client_id
    BEGIN
        {_remove_name("old")}
        {_add_name("new")}
    END
    """,
    f"""
    INSERT INTO phones_search_numbers(rowid, number)
    SELECT {_key("phones_numbers")}, number FROM phones_numbers
    """,
    f"""
    INSERT INTO phones_search_names(id, client_id, status, name, phones)
    SELECT (client_id << {PHONE_BITS})
               + row_number() OVER (PARTITION BY client_id ORDER BY status, name),
           client_id, status, name, count(*)
    FROM phones_numbers WHERE name IS NOT NULL
    GROUP BY client_id, status, name
    """,
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER phones_search_rename",
    "DROP TRIGGER phones_search_renumber",
    "DROP TRIGGER phones_search_delete",
    "DROP TRIGGER phones_search_insert",
    "DROP INDEX phones_search_by_name",
    "DROP TRIGGER phones_search_names_delete",
    "DROP TRIGGER phones_search_names_insert",
    "DROP TABLE phones_search_names_index",
    "DROP TABLE phones_search_names",
    "DROP TABLE phones_search_numbers",
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
]


def upgrade():
    op.drop_index(op.f("ix_phones_numbers_client_id"), table_name="phones_numbers")
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UPGRADE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
    op.create_index(
        op.f("ix_phones_numbers_client_id"), "phones_numbers", ["client_id"]
    )
