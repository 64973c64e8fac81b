"""Count PostgreSQL search matches by distinct name and by short digit string.

A search's `total` counted every matching phone. The pg_trgm indexes find
the matches at once, but the count then reads each of them from the
table: 90 to 120 ms for a name or an area code that 50,000 to 75,000 of a
million phones share. Two tables now keep those counts, as SQLite's
`phones_search_names` does since 0005:

- `phones_search_names`: one row per client, status and name, with how
  many phones bear it, and a pg_trgm index over the names. A name search
  sums the counts of the matching names.
- `phones_search_digits`: one row per client, status and string of one to
  four digits, with how many phones have it in their number. A search of
  up to four digits, such as an area code, reads its total from one row.
  Longer digit strings match fewer numbers and are counted as before.

Statement-level triggers keep both in step with `phones_numbers`, and
`phones_status_counts` too, in place of the row-level trigger of 0003.
They run one upsert per table and statement, whatever the number of rows,
in key order so that concurrent writers take the row locks in the same
order. The row-level trigger updated a count row once per phone, and
within one transaction each such update cost more than the one before: a
bulk insert of 100,000 phones took 52 s in one transaction. A TRUNCATE
of the phones empties the counts too. SQLite is unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Longest digit string whose count `phones_search_digits` keeps. The same
# value is COUNTED_DIGITS in phones_service/phones/search.py.
COUNTED_DIGITS = 4


def _columns(column: str | None) -> str:
    return "client_id, status" if column is None else f"client_id, status, {column}"


def _changes(operation: str, column: str | None) -> str:
    """SQL for the rows that a statement added (sign 1) and removed (sign -1).

    A trigger sees the statement's rows as the transition tables `added`
    and `removed`. For an UPDATE, only rows whose client, status or
    `column` changed count: renaming a phone leaves the digit counts alone.
    """
    columns = _columns(column)
    added = f"SELECT {columns}, 1 AS sign FROM (%s) AS rows"
    removed = f"SELECT {columns}, -1 AS sign FROM (%s) AS rows"
    if operation == "INSERT":
        return added % f"SELECT id, {columns} FROM added"
    if operation == "DELETE":
        return removed % f"SELECT id, {columns} FROM removed"
    return (
        added
        % f"SELECT id, {columns} FROM added EXCEPT ALL SELECT id, {columns} FROM removed"
        + " UNION ALL "
        + removed % _removed_rows(operation, column)
    )


def _removed_rows(operation: str, column: str | None) -> str:
    """SQL for the rows whose count a statement lowered."""
    keys = f"id, {_columns(column)}"
    if operation == "DELETE":
        return f"SELECT {keys} FROM removed"
    return f"SELECT {keys} FROM removed EXCEPT ALL SELECT {keys} FROM added"


# Deleting a client deletes its phones and its count rows by cascade. The
# phones' DELETE trigger then runs after the client is gone, and must not
# write counts for it, which its foreign keys would reject.
_CLIENT_EXISTS = (
    "EXISTS (SELECT 1 FROM phones_clients AS clients"
    " WHERE clients.id = changes.client_id)"
)


def _function(operation: str) -> str:
    # A name whose count falls to zero goes, so that searches read only
    # names that are stored. Digit strings are at most 11,110 per client
    # and status, and statuses three, so their zero counts stay.
    cleanup = (
        ""
        if operation == "INSERT"
        else f"""
        DELETE FROM phones_search_names AS names
        USING ({_removed_rows(operation, "name")}) AS gone
        WHERE names.phones = 0
          AND names.client_id = gone.client_id
          AND names.status = gone.status
          AND names.name = gone.name;"""
    )
    return f"""
    CREATE FUNCTION phones_counts_{operation.lower()}() RETURNS trigger AS $$
    BEGIN
        INSERT INTO phones_status_counts AS counts (client_id, status, count)
        SELECT client_id, status, sum(sign)
        FROM ({_changes(operation, None)}) AS changes
        WHERE {_CLIENT_EXISTS}
        GROUP BY client_id, status
        HAVING sum(sign) <> 0
        ORDER BY client_id, status
        ON CONFLICT (client_id, status)
        DO UPDATE SET count = counts.count + excluded.count;

        INSERT INTO phones_search_names AS names (client_id, status, name, phones)
        SELECT client_id, status, name, sum(sign)
        FROM ({_changes(operation, "name")}) AS changes
        WHERE name IS NOT NULL AND {_CLIENT_EXISTS}
        GROUP BY client_id, status, name
        HAVING sum(sign) <> 0
        ORDER BY client_id, status, name
        ON CONFLICT (client_id, status, name)
        DO UPDATE SET phones = names.phones + excluded.phones;
        {cleanup}

        INSERT INTO phones_search_digits AS counts (client_id, status, digits, phones)
        SELECT client_id, status, digits, sum(sign)
        FROM ({_changes(operation, "number")}) AS changes,
             phones_number_digit_strings(number) AS digits
        WHERE {_CLIENT_EXISTS}
        GROUP BY client_id, status, digits
        HAVING sum(sign) <> 0
        ORDER BY client_id, status, digits
        ON CONFLICT (client_id, status, digits)
        DO UPDATE SET phones = counts.phones + excluded.phones;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """


def _trigger(operation: str) -> str:
    tables = {
        "INSERT": "NEW TABLE AS added",
        "DELETE": "OLD TABLE AS removed",
        "UPDATE": "OLD TABLE AS removed NEW TABLE AS added",
    }[operation]
    name = operation.lower()
    return f"""
    CREATE TRIGGER phones_counts_{name}
    AFTER {operation} ON phones_numbers
    REFERENCING {tables}
    FOR EACH STATEMENT EXECUTE FUNCTION phones_counts_{name}()
    """


OPERATIONS = ("INSERT", "DELETE", "UPDATE")

# TRUNCATE runs no DELETE trigger, so the counts go with it.
TRUNCATE_FUNCTION = """
    CREATE FUNCTION phones_counts_truncate() RETURNS trigger AS $$
    BEGIN
        DELETE FROM phones_status_counts;
        DELETE FROM phones_search_names;
        DELETE FROM phones_search_digits;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
"""
TRUNCATE_TRIGGER = """
    CREATE TRIGGER phones_counts_truncate
    AFTER TRUNCATE ON phones_numbers
    FOR EACH STATEMENT EXECUTE FUNCTION phones_counts_truncate()
"""

# The row-level trigger of 0003 that kept `phones_status_counts`: within one
# transaction each of its updates of a count row cost more than the last.
STATUS_COUNT_TRIGGERS_DROP = [
    "DROP TRIGGER phones_status_counts_update ON phones_numbers",
    "DROP TRIGGER phones_status_counts_insert_delete ON phones_numbers",
    "DROP FUNCTION phones_status_counts_change()",
]
STATUS_COUNT_TRIGGERS_CREATE = [
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

POSTGRESQL_UPGRADE = [
    *STATUS_COUNT_TRIGGERS_DROP,
    """
    CREATE TABLE phones_search_names (
        client_id integer NOT NULL
            CONSTRAINT fk_phones_search_names_client_id_phones_clients
            REFERENCES phones_clients (id) ON DELETE CASCADE,
        status varchar(16) NOT NULL,
        name text NOT NULL,
        phones integer NOT NULL,
        CONSTRAINT pk_phones_search_names PRIMARY KEY (client_id, status, name)
    )
    """,
    """
    CREATE INDEX ix_phones_search_names_trgm
    ON phones_search_names USING gin (lower(name) gin_trgm_ops)
    """,
    """
    CREATE TABLE phones_search_digits (
        client_id integer NOT NULL
            CONSTRAINT fk_phones_search_digits_client_id_phones_clients
            REFERENCES phones_clients (id) ON DELETE CASCADE,
        status varchar(16) NOT NULL,
        digits varchar(4) NOT NULL,
        phones integer NOT NULL,
        CONSTRAINT pk_phones_search_digits PRIMARY KEY (client_id, status, digits)
    )
    """,
    # Every distinct string of 1 to COUNTED_DIGITS consecutive digits in a
    # number; a number holds digits after its leading "+" only.
    f"""
    CREATE FUNCTION phones_number_digit_strings(number text) RETURNS SETOF text AS $$
        SELECT DISTINCT substr(digits, start, width)
        FROM (SELECT regexp_replace(number, '[^0-9]', '', 'g') AS digits) AS cleaned,
             generate_series(1, {COUNTED_DIGITS}) AS width,
             generate_series(1, length(digits) - width + 1) AS start
    $$ LANGUAGE sql IMMUTABLE STRICT
    """,
    *(_function(operation) for operation in OPERATIONS),
    *(_trigger(operation) for operation in OPERATIONS),
    TRUNCATE_FUNCTION,
    TRUNCATE_TRIGGER,
    # Counted anew, so that applying this revision again repairs every count.
    "DELETE FROM phones_status_counts",
    """
    INSERT INTO phones_status_counts (client_id, status, count)
    SELECT client_id, status, count(*) FROM phones_numbers
    GROUP BY client_id, status
    """,
    """
    INSERT INTO phones_search_names (client_id, status, name, phones)
    SELECT client_id, status, name, count(*) FROM phones_numbers
    WHERE name IS NOT NULL
    GROUP BY client_id, status, name
    """,
    """
    INSERT INTO phones_search_digits (client_id, status, digits, phones)
    SELECT client_id, status, digits, count(*)
    FROM phones_numbers, phones_number_digit_strings(number) AS digits
    GROUP BY client_id, status, digits
    """,
]

POSTGRESQL_DOWNGRADE = [
    "DROP TRIGGER phones_counts_truncate ON phones_numbers",
    "DROP FUNCTION phones_counts_truncate()",
    *(
        f"DROP TRIGGER phones_counts_{operation.lower()} ON phones_numbers"
        for operation in OPERATIONS
    ),
    *(f"DROP FUNCTION phones_counts_{operation.lower()}()" for operation in OPERATIONS),
    "DROP FUNCTION phones_number_digit_strings(text)",
    "DROP TABLE phones_search_digits",
    "DROP TABLE phones_search_names",
    *STATUS_COUNT_TRIGGERS_CREATE,
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_UPGRADE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_DOWNGRADE:
            op.execute(statement)
