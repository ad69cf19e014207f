"""name search indexes: pg_trgm on PostgreSQL, a trigger-maintained name-key table on SQLite

PostgreSQL: a GIN trigram index on customers.search_name answers "names like this one" for every bot
process sharing the database, kept current by PostgreSQL itself.

SQLite has no trigram index, so each word of search_name is stored with every one-letter-deleted
variant of it ("dupont" -> dupont, upont, dpont, ..., dupon). Two words within one typo of each
other (substitution, insertion, deletion, transposition) share at least one key, so a query's keys
find the candidates through one primary-key index, whatever process wrote the customer: triggers
(not application code) keep the table in step with customers.search_name.

The key rule's home in application code is store/namekey.py; the SQL below is a frozen copy of it (a
migration must not change when the code does).

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Positions 0..40: 0 keeps the whole word, n drops its n-th letter. search_name holds only [a-z0-9 ]
# (store.normalize.fold), so turning it into a JSON array by replacing spaces is safe.
_POSITIONS = "[" + ",".join(str(i) for i in range(41)) + "]"
_KEYS_OF = (
    "SELECT substr(word.value, 1, pos.value - 1) || substr(word.value, pos.value + 1), {id} "
    "FROM json_each('[\"' || replace({name}, ' ', '\",\"') || '\"]') AS word, "
    f"json_each('{_POSITIONS}') AS pos "
    "WHERE word.value != '' AND pos.value <= length(word.value)"
)
SQLITE_NAME_KEYS_TABLE = (
    "CREATE TABLE customer_name_keys (key VARCHAR(64) NOT NULL, customer_id INTEGER NOT NULL, "
    "PRIMARY KEY (key, customer_id)) WITHOUT ROWID"
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER customers_name_keys_insert AFTER INSERT ON customers WHEN new.search_name IS NOT NULL "
    "BEGIN INSERT OR IGNORE INTO customer_name_keys (key, customer_id) "
    + _KEYS_OF.format(id="new.id", name="new.search_name") + "; END",
    "CREATE TRIGGER customers_name_keys_update AFTER UPDATE OF search_name ON customers "
    "BEGIN DELETE FROM customer_name_keys WHERE customer_id = old.id; "
    "INSERT OR IGNORE INTO customer_name_keys (key, customer_id) "
    + _KEYS_OF.format(id="new.id", name="coalesce(new.search_name, '')") + "; END",
    "CREATE TRIGGER customers_name_keys_delete AFTER DELETE ON customers "
    "BEGIN DELETE FROM customer_name_keys WHERE customer_id = old.id; END",
)


def _sqlite_backfill_sql() -> str:
    # Sorted inserts build the B-tree sequentially: much faster than trigger-by-trigger on big tables.
    return (
        "INSERT OR IGNORE INTO customer_name_keys (key, customer_id) "
        "SELECT substr(word.value, 1, pos.value - 1) || substr(word.value, pos.value + 1) AS k, c.id "
        "FROM customers AS c, "
        "json_each('[\"' || replace(c.search_name, ' ', '\",\"') || '\"]') AS word, "
        f"json_each('{_POSITIONS}') AS pos "
        "WHERE c.search_name IS NOT NULL AND word.value != '' AND pos.value <= length(word.value) "
        "ORDER BY k, c.id"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_customers_search_name_trgm "
            "ON customers USING gin (search_name gin_trgm_ops)"
        )
    elif dialect == "sqlite":
        op.execute(SQLITE_NAME_KEYS_TABLE)
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
        op.execute(_sqlite_backfill_sql())


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customers_search_name_trgm")
    elif dialect == "sqlite":
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS customers_name_keys_{name}")
        op.execute("DROP TABLE IF EXISTS customer_name_keys")
